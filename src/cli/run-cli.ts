import { parseArgs } from "node:util";
import { applyCommand } from "./apply-command.ts";
import { claimCommand, releaseCommand } from "./claim-command.ts";
import { CliError, clientSettings } from "./client.ts";
import type { CommandIo } from "./command-io.ts";
import { deleteCommand } from "./delete-command.ts";
import { diffCommand } from "./diff-command.ts";
import { exportCommand } from "./export-command.ts";
import { getCommand } from "./get-command.ts";
import { serve } from "./serve.ts";
import { resolveSetName } from "./set-name.ts";
import { tokenCommand } from "./token-command.ts";
import { userCommand } from "./user-command.ts";

const mainHelp = `Usage: orchestrator <command> [options]

Commands:
  serve          start the service (same as npm start); configured by environment variables
  apply          apply desired-state files (-f FILE_OR_FOLDER); --prune, --wait, --watch
  diff           show what apply would change; exit 0 nothing, 1 something, 2 errors
  get            list images or containers (-o table|wide|json|yaml)
  delete         delete the images named by files (-f) or by name
  export         write your images as desired-state files that apply accepts
  user           create or list users (admin): user create NAME, user list
  token          create, list or revoke API tokens: token create|list|revoke
  claim          claim an instance of a pooled image for a key: claim KEY --image NAME
  release        release what a key holds: release KEY

Run "orchestrator <command> --help" for a command's options.
The client commands read ORCHESTRATOR_URL (default http://127.0.0.1:3003) and ORCHESTRATOR_TOKEN.`;

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

/** The `orchestrator` command. Returns the exit code (-1: keep running, the service is up). */
export async function runCli(
  argv: readonly string[],
  options: RunCliOptions = {},
): Promise<number> {
  const environment = options.environment ?? process.env;
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const [command, ...rest] = argv;
  let signal = options.signal;
  const io: CommandIo = {
    settings: () => clientSettings(environment),
    out,
    err,
    get signal() {
      signal ??= processSignal();
      return signal;
    },
  };
  try {
    switch (command) {
      case undefined:
      case "help":
      case "-h":
      case "--help":
        out(mainHelp);
        return command === undefined ? 2 : 0;
      case "serve":
        return await serveCommand(rest, io, environment);
      case "apply":
        return await applyCommand(rest, io);
      case "diff":
        return await diffCommand(rest, io);
      case "get":
        return await getCommand(rest, io);
      case "delete":
        return await deleteCommand(rest, io);
      case "export":
        return await exportCommand(rest, io);
      case "token":
        return await tokenCommand(rest, io.settings, out);
      case "user":
        return await userCommand(rest, io.settings, out);
      case "claim":
        return await claimCommand(rest, io);
      case "release":
        return await releaseCommand(rest, io);
      default:
        err(`orchestrator: unknown command "${command}"`);
        err(mainHelp);
        return 2;
    }
  } catch (error) {
    if (error instanceof CliError) {
      for (const line of error.message.split("\n")) err(`orchestrator: ${line}`);
      return error.exitCode;
    }
    if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      err(`orchestrator: ${(error as Error).message}`);
      return 2;
    }
    throw error;
  }
}
