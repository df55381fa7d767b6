import type { FileError } from "../gitops/file-error.ts";
import { type LoadedDocument, type LoadResult, loadDocuments } from "../gitops/load.ts";
import { formatPlan } from "../gitops/plan-format.ts";
import type { ApplyResponse, Problem } from "./api-types.ts";
import { problemFileErrors, requestDocuments } from "./apply-documents.ts";
import { formatBytes, formatRate } from "./byte-format.ts";
import { exitCodes } from "./cli-error.ts";
import { CliError, type ClientSettings, callApi } from "./client.ts";
import { type PackedSources, packSources } from "./pack-sources.ts";
import { type UploadDisplay, uploadSource } from "./upload-source.ts";

export type ApplyRoundOptions = {
  readonly paths: readonly string[];
  /** The inventory name: prune deletes only what an apply of this set created. */
  readonly set: string;
  readonly prune: boolean;
  readonly allowEmpty: boolean;
  readonly dryRun: boolean;
  /** How the files are read (default: at once); `apply --watch` waits for them to settle. */
  readonly load?: (paths: readonly string[]) => Promise<LoadResult>;
};

export type UploadedSource = { readonly name: string; readonly imageId: number };

export type ApplyRound =
  /** Bad files (or documents the server refused): nothing was applied. */
  | { readonly ok: false; readonly errors: readonly FileError[] }
  | {
      readonly ok: true;
      readonly plan: ApplyResponse;
      readonly documents: readonly LoadedDocument[];
      readonly uploads: readonly UploadedSource[];
    };

function applyPath(options: ApplyRoundOptions): string {
  const query = new URLSearchParams();
  if (options.dryRun) query.set("dry_run", "1");
  if (options.prune) query.set("prune", "1");
  if (options.allowEmpty) query.set("allow_empty", "1");
  const text = query.toString();
  return text === "" ? "/api/apply" : `/api/apply?${text}`;
}

function refusal(status: number, problem: Problem | string | undefined): CliError {
  const detail =
    typeof problem === "string" ? problem : (problem?.detail ?? problem?.title ?? "no detail");
  const hint = /pass allow_empty to confirm/.test(detail)
    ? detail.replace("pass allow_empty to confirm", "pass --allow-empty to confirm")
    : /managed by apply set "([^"]+)"/.test(detail)
      ? `${detail} (apply that set, or pass --set ${/managed by apply set "([^"]+)"/.exec(detail)?.[1]})`
      : detail;
  return new CliError(`apply refused (${status}): ${hint}`, exitCodes.failed);
}

async function uploadAll(
  settings: ClientSettings,
  plan: ApplyResponse,
  documents: readonly LoadedDocument[],
  packed: PackedSources,
  out: (line: string) => void,
  display: UploadDisplay | undefined,
): Promise<UploadedSource[]> {
  const uploads: UploadedSource[] = [];
  for (const item of plan.items) {
    if (!item.needs_upload || item.image_id === null) continue;
    const folder = documents.find((document) => document.name === item.name)?.source;
    const source = folder === undefined ? undefined : packed.byFolder.get(folder);
    if (source === undefined)
      throw new CliError(`${item.name}: the server asks for a source it was not sent`);
    const started = Date.now();
    let shownAt = 0;
    await uploadSource(settings, item.image_id, source, (sent) => {
      // At most ten redraws a second, and always the last one.
      if (display === undefined || (Date.now() - shownAt < 100 && sent < source.bytes)) return;
      shownAt = Date.now();
      display.progress(item.name, sent, source.bytes, Date.now() - started);
    });
    display?.clear();
    out(
      `↑ ${item.name} (source uploaded: ${formatBytes(source.bytes)} at ${formatRate(source.bytes, Math.max(1, Date.now() - started))}, sha256 ${source.digest.slice(0, 12)})`,
    );
    uploads.push({ name: item.name, imageId: item.image_id });
  }
  return uploads;
}

/**
 * One apply (or dry run) of a set of files: load and validate everything locally, pack the
 * source folders, send the set in one request, print the plan, then upload the sources the
 * server does not have yet. Nothing is sent while any file has an error.
 */
export async function applyRound(
  settings: ClientSettings,
  options: ApplyRoundOptions,
  out: (line: string) => void,
  uploadDisplay?: UploadDisplay,
): Promise<ApplyRound> {
  const loaded = await (options.load ?? loadDocuments)(options.paths);
  if (loaded.errors.length > 0) return { ok: false, errors: loaded.errors };
  const { documents } = loaded;
  const packed = await packSources(documents);
  try {
    const digestOf = (folder: string) => packed.byFolder.get(folder)?.digest;
    const response = await callApi<ApplyResponse | Problem>(
      settings,
      "POST",
      applyPath(options),
      { set: options.set, documents: requestDocuments(documents, digestOf) },
      { acceptStatuses: [409, 422] },
    );
    if (response.status === 422) {
      const errors = problemFileErrors(response.body as Problem, documents);
      if (errors !== undefined) return { ok: false, errors };
    }
    if (response.status !== 200) throw refusal(response.status, response.body as Problem);
    const plan = response.body as ApplyResponse;
    for (const line of formatPlan(plan)) out(line);
    const uploads = options.dryRun
      ? []
      : await uploadAll(settings, plan, documents, packed, out, uploadDisplay);
    return { ok: true, plan, documents, uploads };
  } finally {
    await packed.cleanup();
  }
}
