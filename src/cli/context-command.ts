import { type CliConfig, configPath, loadConfig, saveConfig } from "./cli-config.ts";
import { CliError, exitCodes } from "./cli-error.ts";
import { type CommandIo, parseCommand } from "./command-io.ts";
import { formatTable } from "./table.ts";

export const contextHelp = `Usage: orchestrator context set NAME --server URL [--token TOKEN]
       orchestrator context use NAME
       orchestrator context list
       orchestrator context delete NAME

Saved servers and their tokens, like kubectl's contexts, in
$XDG_CONFIG_HOME/orchestrator/config.json (~/.config/... by default), readable only by you
(mode 0600). The current context is used when neither flags (--server, --token, --context)
nor the environment (ORCHESTRATOR_URL, ORCHESTRATOR_TOKEN, ORCHESTRATOR_CONTEXT) say
otherwise; its token is sent only to its own server.

set      creates or changes a context (the first one becomes current); --token - reads the
         token from standard input
use      makes a context the current one
list     the contexts; * marks the current one (tokens are never printed)
delete   forgets a context

Options:
  --server URL     the server of the context
  --token TOKEN    its token
  -h, --help       show this help`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").trim();
}

/** `context set|use|list|delete`: the server and token are its own flags here. */
export async function contextCommand(
  args: readonly string[],
  io: CommandIo,
  flags: { readonly server?: string; readonly token?: string },
): Promise<number> {
  const parsed = parseCommand(args, {}, contextHelp, io);
  if (parsed === undefined) return 0;
  const { positionals } = parsed;
  const file = configPath(io.environment);
  const config = await loadConfig(file);
  const [verb, name, ...extra] = positionals;
  if (extra.length > 0) throw new CliError(`context ${verb}: too many arguments (see --help)`);
  const known = (contextName: string) => {
    if (config.contexts[contextName] === undefined) {
      throw new CliError(`context ${contextName} not found`, exitCodes.failed);
    }
  };
  switch (verb) {
    case "list":
    case undefined: {
      const names = Object.keys(config.contexts).sort();
      if (names.length === 0) {
        io.err("No contexts (orchestrator context set NAME --server URL --token TOKEN).");
        return 0;
      }
      const rows = names.map((contextName) => [
        contextName === config.current_context ? "*" : "",
        contextName,
        config.contexts[contextName]?.server ?? "",
        config.contexts[contextName]?.token === undefined ? "no" : "yes",
      ]);
      for (const line of formatTable(["CURRENT", "NAME", "SERVER", "TOKEN"], rows)) io.out(line);
      return 0;
    }
    case "set": {
      if (name === undefined) throw new CliError("context set needs a NAME (see --help)");
      const previous = config.contexts[name];
      const server = flags.server ?? previous?.server;
      if (server === undefined) throw new CliError("context set needs --server URL");
      if (!URL.canParse(server)) throw new CliError(`--server ${server}: not a URL`);
      const token = flags.token === "-" ? await readStdin() : (flags.token ?? previous?.token);
      const next: CliConfig = {
        current_context: config.current_context ?? name,
        contexts: {
          ...config.contexts,
          [name]: { server: server.replace(/\/+$/, ""), ...(token ? { token } : {}) },
        },
      };
      await saveConfig(file, next);
      io.out(
        `context ${name} ${previous === undefined ? "created" : "changed"}${next.current_context === name ? " (current)" : ""}`,
      );
      return 0;
    }
    case "use": {
      if (name === undefined) throw new CliError("context use needs a NAME (see --help)");
      known(name);
      await saveConfig(file, { ...config, current_context: name });
      io.out(`switched to context ${name}`);
      return 0;
    }
    case "delete": {
      if (name === undefined) throw new CliError("context delete needs a NAME (see --help)");
      known(name);
      const { [name]: _removed, ...rest } = config.contexts;
      await saveConfig(file, {
        current_context: config.current_context === name ? null : config.current_context,
        contexts: rest,
      });
      io.out(`context ${name} deleted`);
      return 0;
    }
    default:
      throw new CliError(`context ${verb}: must be set, use, list or delete (see --help)`);
  }
}
