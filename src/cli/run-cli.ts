import { parseArgs } from "node:util";
import { OrchestratorError } from "../client/index.ts";
import { applyCommand } from "./apply-command.ts";
import { buildLogsCommand } from "./build-logs-command.ts";
import { claimCommand, releaseCommand } from "./claim-command.ts";
import { CliError, cliErrorOf, exitCodes } from "./cli-error.ts";
import { type ClientSettings, clientOf, clientSettings } from "./client.ts";
import type { CommandIo } from "./command-io.ts";
import { commandTable } from "./command-table.ts";
import { completionCommand } from "./completion-command.ts";
import { contextCommand } from "./context-command.ts";
import { deleteCommand } from "./delete-command.ts";
import { describeCommand } from "./describe-command.ts";
import { diffCommand } from "./diff-command.ts";
import { eventsCommand } from "./events-command.ts";
import { exportCommand } from "./export-command.ts";
import { getCommand } from "./get-command.ts";
import { type GlobalFlags, splitGlobalFlags } from "./global-flags.ts";
import { instanceCommand, scaleCommand } from "./lifecycle-commands.ts";
import { logsCommand } from "./logs-command.ts";
import { rolloutCommand } from "./rollout-command.ts";
import { routerCommand } from "./router-command.ts";
import { serve } from "./serve.ts";
import { resolveSetName } from "./set-name.ts";
import { terminalOf } from "./terminal.ts";
import { tokenCommand } from "./token-command.ts";
import { topCommand } from "./top-command.ts";
import { userCommand } from "./user-command.ts";
import { versionCommand } from "./version-command.ts";

const mainHelp = `Usage: orchestrator <command> [options]

Commands:
${commandTable.map((entry) => `  ${entry.name.padEnd(13)}${entry.summary}`).join("\n")}

Global options (client commands):
  --server URL     the API (default: ORCHESTRATOR_URL, the current context, http://127.0.0.1:3003)
  --token TOKEN    the bearer token (default: ORCHESTRATOR_TOKEN, the context's, DATA_DIR/admin-token)
  --context NAME   a saved context other than the current one (orchestrator context list)

Run "orchestrator <command> --help" for a command's options.
Exit status: 0 done, 1 failed (not found, refused, unreachable, wait failed), 2 usage or file errors.`;

const serveHelp = `Usage: orchestrator serve [--watch FOLDER [--prune] [--set NAME]]

Starts the orchestrator: HTTP API, reconcile loop and event relay.
Configuration comes from the environment (PORT, DATABASE_URL, DATA_DIR, DOCKER_HOST,
KAFKA_BROKERS, ...); with nothing set it uses an embedded database in ./data.

Options:
  --watch PATH   apply the desired-state files of PATH (a folder or file, repeatable) as the
                 admin user at start and on every change, and log the plan each time
  --set NAME     the apply set of the watched files (default: the first folder's name)
  --prune        delete the images of the set that the files no longer name
  --allow-empty  let --prune delete every image of the set
  -h, --help     show this help`;

export type RunCliOptions = {
  readonly environment?: NodeJS.ProcessEnv;
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
  /** Raw text on standard output (progress); by default process.stdout. */
  readonly write?: (text: string) => void;
  /** Whether standard output is a terminal; by default process.stdout.isTTY. */
  readonly isTty?: boolean;
  /** Ends watch and wait; by default SIGINT and SIGTERM do. */
  readonly signal?: AbortSignal;
};

function processSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return controller.signal;
}

async function serveCommand(
  args: readonly string[],
  io: CommandIo,
  environment: NodeJS.ProcessEnv,
) {
  const { values } = parseArgs({
    args: [...args],
    options: {
      watch: { type: "string", multiple: true },
      set: { type: "string" },
      prune: { type: "boolean" },
      "allow-empty": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: false,
  });
  if (values.help) {
    io.out(serveHelp);
    return 0;
  }
  const paths = values.watch ?? [];
  if (paths.length === 0 && (values.set !== undefined || values.prune || values["allow-empty"])) {
    throw new CliError("--set, --prune and --allow-empty need --watch FOLDER");
  }
  const watch =
    paths.length === 0
      ? undefined
      : {
          paths,
          set: await resolveSetName(values.set, paths),
          prune: values.prune ?? false,
          allowEmpty: values["allow-empty"] ?? false,
        };
  await serve(environment, watch === undefined ? {} : { watch });
  return -1;
}

type Handler = (args: readonly string[], io: CommandIo, flags: GlobalFlags) => Promise<number>;

/** Each command by name; `commandTable` describes the same commands for help and completion. */
export const handlers: Readonly<Record<string, Handler>> = {
  serve: (args, io, flags) => {
    if (Object.keys(flags).length > 0) {
      throw new CliError("serve takes no --server, --token or --context (see serve --help)");
    }
    return serveCommand(args, io, io.environment);
  },
  apply: (args, io) => applyCommand(args, io),
  diff: (args, io) => diffCommand(args, io),
  get: (args, io) => getCommand(args, io),
  describe: (args, io) => describeCommand(args, io),
  logs: (args, io) => logsCommand(args, io),
  events: (args, io) => eventsCommand(args, io),
  scale: (args, io) => scaleCommand(args, io),
  rollout: (args, io) => rolloutCommand(args, io),
  start: (args, io) => instanceCommand("start", args, io),
  stop: (args, io) => instanceCommand("stop", args, io),
  restart: (args, io) => instanceCommand("restart", args, io),
  top: (args, io) => topCommand(args, io),
  "build-logs": (args, io) => buildLogsCommand(args, io),
  delete: (args, io) => deleteCommand(args, io),
  export: (args, io) => exportCommand(args, io),
  user: (args, io) => userCommand(args, io.settings, io.out),
  token: (args, io) => tokenCommand(args, io.settings, io.out),
  claim: (args, io) => claimCommand(args, io),
  release: (args, io) => releaseCommand(args, io),
  context: (args, io, flags) => contextCommand(args, io, flags),
  version: (args, io) => versionCommand(args, io),
  completion: (args, io) => completionCommand(args, io),
  router: (args, io) => routerCommand(args, io),
};

/** `diff` keeps 1 for "there are changes": every error of its exits 2 (like kubectl diff). */
async function diffExitCodes(run: Promise<number>): Promise<number> {
  try {
    return await run;
  } catch (error) {
    if (error instanceof CliError) throw new CliError(error.message, exitCodes.usage);
    if (error instanceof OrchestratorError) {
      throw new CliError(cliErrorOf(error).message, exitCodes.usage);
    }
    throw error;
  }
}

/** The `orchestrator` command. Returns the exit code (-1: keep running, the service is up). */
export async function runCli(
  argv: readonly string[],
  options: RunCliOptions = {},
): Promise<number> {
  const environment = options.environment ?? process.env;
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  // Given lines to print to (a test, a library), raw text goes there too, line by line.
  const write =
    options.write ??
    (options.out === undefined
      ? (text: string) => process.stdout.write(text)
      : (text: string) => {
          for (const line of text.replace(/\n$/, "").split("\n")) out(line);
        });
  let signal = options.signal;
  try {
    const { flags, rest } = splitGlobalFlags(argv);
    const [command, ...args] = rest;
    let settings: Promise<ClientSettings> | undefined;
    const io: CommandIo = {
      settings: () => {
        settings ??= clientSettings(environment, flags);
        return settings;
      },
      client: async () => clientOf(await io.settings()),
      out,
      err,
      write,
      terminal: terminalOf(
        options.isTty ?? (options.out === undefined && process.stdout.isTTY === true),
        environment,
      ),
      environment,
      get signal() {
        signal ??= processSignal();
        return signal;
      },
    };
    if (command === undefined || command === "help" || command === "-h" || command === "--help") {
      out(mainHelp);
      return command === undefined ? exitCodes.usage : exitCodes.ok;
    }
    const handler = Object.hasOwn(handlers, command) ? handlers[command] : undefined;
    if (handler === undefined) {
      err(`orchestrator: unknown command "${command}"`);
      err(mainHelp);
      return exitCodes.usage;
    }
    const run = handler(args, io, flags);
    return await (command === "diff" ? diffExitCodes(run) : run);
  } catch (error) {
    const reported =
      error instanceof OrchestratorError
        ? cliErrorOf(error)
        : error instanceof CliError
          ? error
          : undefined;
    if (reported !== undefined) {
      for (const line of reported.message.split("\n")) err(`orchestrator: ${line}`);
      return reported.exitCode;
    }
    if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      err(`orchestrator: ${(error as Error).message}`);
      return exitCodes.usage;
    }
    throw error;
  }
}
