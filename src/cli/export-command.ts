import { mkdir, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { exportDocuments, exportImageDocument } from "../gitops/export.ts";
import type { ImageView, ItemsOf } from "./api-types.ts";
import { CliError, callApi } from "./client.ts";
import type { CommandIo } from "./command-io.ts";
import { setNameOfFolder } from "./set-name.ts";

export const exportHelp = `Usage: orchestrator export [--output-directory FOLDER] [--set NAME] [NAME...]

Writes your images' desired state as files that "orchestrator apply" accepts: applying them
unchanged changes nothing. Without --output-directory, one multi-document stream goes to
standard output. Images being deleted are left out. An image built from uploaded source gets
"source: ./NAME", a folder you must fill with its build context before applying.

Options:
      --output-directory FOLDER
                        write one NAME.yaml per image into FOLDER (created when missing)
  -o, --output yaml     the output format, as in get (export writes yaml only)
      --set NAME        only the images of this apply set
  -h, --help            show this help

"-o FOLDER" (before -o was the format everywhere) still writes into FOLDER, with a warning.`;

/** Formats other commands' -o takes: never taken for a folder's name. */
const formatNames = new Set(["yaml", "json", "table", "wide", "name"]);

/**
 * Where export writes: standard output, or a folder. `-o` is the output format, as in every
 * other command; a folder is `--output-directory`. `-o FOLDER` was the folder before, and still
 * is, with a deprecation warning. Pure.
 */
export function exportTarget(
  output: string | undefined,
  outputDirectory: string | undefined,
): { readonly folder: string | undefined; readonly warning?: string } {
  if (output === undefined || output === "yaml") return { folder: outputDirectory };
  if (formatNames.has(output)) {
    throw new CliError(`-o ${output}: export writes yaml (the files apply reads)`);
  }
  if (outputDirectory !== undefined) {
    throw new CliError(`-o ${output}: must be yaml (the folder is --output-directory)`);
  }
  return {
    folder: output,
    warning: `warning: "export -o FOLDER" is deprecated: use --output-directory ${output} (-o is the output format, as in get)`,
  };
}

/** What to tell the user about the sets of exported images, when applying needs --set. Pure. */
export function setNote(
  images: readonly ImageView[],
  folderSet: string | undefined,
): string | undefined {
  const sets = [...new Set(images.flatMap((image) => image.apply_set ?? []))].sort();
  if (sets.length === 0) return undefined;
  if (sets.length === 1) {
    const [set] = sets;
    return set === folderSet
      ? undefined
      : `note: these images belong to apply set "${set}": apply them with --set ${set}`;
  }
  return `note: these images belong to ${sets.length} apply sets (${sets.join(", ")}): export and apply each with --set`;
}

export async function exportCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals: names } = parseArgs({
    args: [...args],
    options: {
      output: { type: "string", short: "o" },
      "output-directory": { type: "string" },
      set: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.out(exportHelp);
    return 0;
  }
  const target = exportTarget(values.output, values["output-directory"]);
  if (target.warning !== undefined) io.err(target.warning);
  const { folder: output } = target;
  const listed = (await callApi<ItemsOf<ImageView>>(await io.settings(), "GET", "/api/images")).body
    .items;
  const images = listed.filter(
    (image) =>
      image.status !== "deleting" &&
      (values.set === undefined || image.apply_set === values.set) &&
      (names.length === 0 || names.includes(image.name)),
  );
  const owners = new Set(images.map((image) => image.user_id));
  if (owners.size > 1) {
    throw new CliError(
      `these images belong to ${owners.size} users (the admin token sees everyone's): export with a user's token (orchestrator token create --user NAME)`,
    );
  }
  const missing = names.filter((name) => !images.some((image) => image.name === name));
  if (missing.length > 0) throw new CliError(`not found: ${missing.join(", ")}`);

  if (output === undefined) {
    if (images.length > 0) io.out(exportDocuments(images).trimEnd());
  } else {
    const folder = resolve(output);
    await mkdir(folder, { recursive: true });
    for (const image of images) {
      await writeFile(join(folder, `${image.name}.yaml`), exportImageDocument(image));
    }
    io.err(`${images.length} ${images.length === 1 ? "image" : "images"} written to ${output}`);
  }
  for (const image of images.filter((candidate) => candidate.source_type === "upload")) {
    io.err(
      `note: ${image.name} was built from uploaded source: put its build context in ./${image.name} beside its file`,
    );
  }
  const folderSet = output === undefined ? undefined : setNameOfFolder(basename(resolve(output)));
  const note = setNote(images, folderSet);
  if (note !== undefined) io.err(note);
  return 0;
}
