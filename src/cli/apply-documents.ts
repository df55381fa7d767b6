import type { FileError } from "../gitops/file-error.ts";
import type { LoadedDocument } from "../gitops/load.ts";
import type { Problem } from "./api-types.ts";

/** One document of a `POST /api/apply` body: the name, the canonical spec, the source digest. */
export type RequestDocument = Readonly<Record<string, unknown>>;

/** The documents as the API takes them; `digestOf` gives the packed digest of a source folder. Pure. */
export function requestDocuments(
  documents: readonly LoadedDocument[],
  digestOf: (folder: string) => string | undefined,
): RequestDocument[] {
  return documents.map((document) => {
    const digest = document.source === undefined ? undefined : digestOf(document.source);
    // An autoscaled image's count is the autoscaler's: a file that does not say it sends none.
    const { desired_instances, ...spec } = document.spec;
    const sendsCount =
      document.spec.autoscale === null || document.desiredInstancesWritten !== false;
    return {
      name: document.name,
      ...spec,
      ...(sendsCount ? { desired_instances } : {}),
      ...(digest === undefined ? {} : { source_digest: digest }),
    };
  });
}

const documentPath = /^documents\[(\d+)\](?:\.(.+))?$/;

/**
 * The server's validation errors of an apply (`documents[3].max_instances`) as errors of the
 * files the documents came from, at the document's name. Pure.
 */
export function problemFileErrors(
  problem: Problem,
  documents: readonly LoadedDocument[],
): FileError[] | undefined {
  const errors = problem.errors ?? [];
  if (errors.length === 0) return undefined;
  const mapped: FileError[] = [];
  for (const error of errors) {
    const match = documentPath.exec(error.path ?? "");
    const document = match === null ? undefined : documents[Number(match[1])];
    if (document === undefined) return undefined;
    const field = match?.[2];
    const path = field === undefined ? "" : field === "name" ? "metadata.name" : `spec.${field}`;
    // A depends_on entry has a place of its own; anything else points at the document's name.
    const entry = /^depends_on\[(\d+)\]$/.exec(field ?? "");
    const { line, column } =
      (entry === null ? undefined : document.dependsOnPositions[Number(entry[1])]) ?? document;
    mapped.push({ file: document.file, line, column, path, message: error.message });
  }
  return mapped;
}
