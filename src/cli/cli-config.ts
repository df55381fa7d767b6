import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { CliError } from "./cli-error.ts";

/** A saved server and token, like a kubeconfig context. */
export type CliContext = { readonly server: string; readonly token?: string };

/** The CLI's config file: its contexts and which one is in use. */
export type CliConfig = {
  readonly current_context: string | null;
  readonly contexts: Readonly<Record<string, CliContext>>;
};

export const emptyConfig: CliConfig = { current_context: null, contexts: {} };

/** `$XDG_CONFIG_HOME/orchestrator/config.json` (XDG_CONFIG_HOME defaults to `~/.config`). */
export function configPath(environment: NodeJS.ProcessEnv): string {
  const base =
    environment.XDG_CONFIG_HOME !== undefined && path.isAbsolute(environment.XDG_CONFIG_HOME)
      ? environment.XDG_CONFIG_HOME
      : path.join(environment.HOME ?? homedir(), ".config");
  return path.join(base, "orchestrator", "config.json");
}

function isConfig(value: unknown): value is CliConfig {
  if (typeof value !== "object" || value === null) return false;
  const { current_context, contexts } = value as Record<string, unknown>;
  if (current_context !== null && typeof current_context !== "string") return false;
  if (typeof contexts !== "object" || contexts === null) return false;
  return Object.values(contexts).every(
    (context) =>
      typeof context === "object" &&
      context !== null &&
      typeof (context as CliContext).server === "string" &&
      ["string", "undefined"].includes(typeof (context as CliContext).token),
  );
}

/** The config file, or the empty config when there is none; a damaged file is an error. */
export async function loadConfig(file: string): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyConfig;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${file}: not valid JSON; fix or remove it`);
  }
  if (!isConfig(parsed))
    throw new CliError(`${file}: not an orchestrator config; fix or remove it`);
  return parsed;
}

/** Writes the config readable by its owner only (0600, folder 0700), replacing it whole. */
export async function saveConfig(file: string, config: CliConfig): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}
