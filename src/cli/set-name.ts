import { stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { CliError } from "./client.ts";

/** What the server accepts as an apply set name. */
export const setNamePattern = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

/**
 * The set name a folder gives by default: its name, with characters the server does not accept
 * turned into `-` (`my apps` → `my-apps`); undefined when nothing is left. Pure.
 */
export function setNameOfFolder(folderName: string): string | undefined {
  const name = folderName
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 128);
  return setNamePattern.test(name) ? name : undefined;
}

/**
 * `--set`, or the name of the folder of the first `-f` path (for a file, the folder holding it).
 */
export async function resolveSetName(
  given: string | undefined,
  paths: readonly string[],
): Promise<string> {
  if (given !== undefined) {
    if (!setNamePattern.test(given)) {
      throw new CliError(
        `--set ${given}: must be 1-128 letters, digits, '.', '_', '/' or '-', starting with a letter or digit`,
      );
    }
    return given;
  }
  const first = paths[0];
  if (first === undefined) throw new CliError("-f FILE_OR_FOLDER is required");
  const absolute = resolve(first);
  let folder = absolute;
  try {
    if (!(await stat(absolute)).isDirectory()) folder = dirname(absolute);
  } catch {
    folder = dirname(absolute); // a missing path is reported by the loader
  }
  const name = setNameOfFolder(basename(folder));
  if (name === undefined) {
    throw new CliError(`cannot name the apply set after the folder ${folder}: pass --set NAME`);
  }
  return name;
}
