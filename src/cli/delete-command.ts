import { parseArgs } from "node:util";
import { removalOrder } from "../domain/dependencies.ts";
import { loadDocuments } from "../gitops/load.ts";
import type { ImageView, ItemsOf } from "./api-types.ts";
import { exitCodes } from "./cli-error.ts";
import { CliError, callApi, clientOf } from "./client.ts";
import {
  type CommandIo,
  defaultWaitTimeoutMs,
  parseTimeout,
  printFileErrors,
} from "./command-io.ts";
import { waitForImages } from "./wait-images.ts";

export const deleteHelp = `Usage: orchestrator delete -f FILE_OR_FOLDER [-f ...] [options]
       orchestrator delete images NAME [NAME...] [options]

Deletes the images the files name (or the images named): their containers are removed,
then the image; images that depend on others (depends_on) go before them. Files are
validated first; with any error nothing is deleted.

Options:
  -f, --filename PATH    a file or folder (repeatable)
      --ignore-not-found  an image that does not exist is not an error
      --wait             wait until the images are gone
      --timeout D        how long --wait waits (default 5m)
  -h, --help             show this help

Exit status: 0 deleted, 1 an image not found, refused by the server, or --wait failed or
timed out, 2 bad files or flags.`;

async function namesToDelete(
  paths: readonly string[] | undefined,
  positionals: readonly string[],
  io: CommandIo,
): Promise<string[] | undefined> {
  if (paths !== undefined && paths.length > 0) {
    if (positionals.length > 0) throw new CliError("give either -f or image names, not both");
    const loaded = await loadDocuments(paths, { checkSources: false });
    if (loaded.errors.length > 0) {
      printFileErrors(loaded.errors, io.err, "nothing was deleted");
      return undefined;
    }
    return loaded.documents.map((document) => document.name);
  }
  const [kind, ...names] = positionals;
  if ((kind !== "images" && kind !== "image") || names.length === 0) {
    throw new CliError("-f FILE_OR_FOLDER or images NAME... is required (see --help)");
  }
  return names;
}

export async function deleteCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      filename: { type: "string", short: "f", multiple: true },
      "ignore-not-found": { type: "boolean" },
      wait: { type: "boolean" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.out(deleteHelp);
    return 0;
  }
  const timeoutMs = parseTimeout(values.timeout, defaultWaitTimeoutMs);
  const names = await namesToDelete(values.filename, positionals, io);
  if (names === undefined) return 2;
  const settings = await io.settings();
  const images = (await callApi<ItemsOf<ImageView>>(settings, "GET", "/api/images")).body.items;

  const found: ImageView[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const matches = images.filter((image) => image.name === name);
    if (matches.length > 1) {
      throw new CliError(
        `${matches.length} images are named ${name} (the admin token sees every user's): delete with the owner's token`,
      );
    }
    const [image] = matches;
    if (image === undefined) missing.push(name);
    else found.push(image);
  }
  // Dependents first: the server refuses to delete an image that a live one depends on.
  for (const image of removalOrder(found)) {
    if (image.status !== "deleting") {
      await callApi(settings, "DELETE", `/api/images/${image.id}`);
    }
    io.out(`- ${image.name} (deleting)`);
  }
  if (missing.length > 0 && !values["ignore-not-found"]) {
    for (const name of missing) io.err(`orchestrator: image ${name} not found`);
    return exitCodes.failed;
  }
  if (values.wait) {
    const targets = found.map((image) => ({ name: image.name, imageId: image.id, gone: true }));
    await waitForImages(clientOf(settings), targets, { timeoutMs, signal: io.signal }, io);
  }
  return 0;
}
