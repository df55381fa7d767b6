import { CliError, clientSettings } from "./client.ts";
import { serve } from "./serve.ts";
import { tokenCommand } from "./token-command.ts";

const mainHelp = `Usage: orchestrator <command> [options]

Commands:
  serve          start the service (same as npm start); configured by environment variables
  token create   create an API token for a user (admin)

Run "orchestrator <command> --help" for a command's options.
The client commands read ORCHESTRATOR_URL (default http://127.0.0.1:3003) and ORCHESTRATOR_TOKEN.`;

const serveHelp = `Usage: orchestrator serve

Starts the orchestrator: HTTP API, reconcile loop and event relay.
Configuration comes from the environment (PORT, DATABASE_URL, DATA_DIR, DOCKER_HOST,
KAFKA_BROKERS, ...); with nothing set it uses an embedded database in ./data.`;

/** The `orchestrator` command. Returns the exit code. */
export async function runCli(
  argv: readonly string[],
  environment: NodeJS.ProcessEnv = process.env,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<number> {
  const [command, ...rest] = argv;
  const settings = () => clientSettings(environment);
  try {
    switch (command) {
      case undefined:
      case "help":
      case "-h":
      case "--help":
        out(mainHelp);
        return command === undefined ? 2 : 0;
      case "serve":
        if (rest.includes("--help") || rest.includes("-h")) {
          out(serveHelp);
          return 0;
        }
        await serve(environment);
        return -1;
      case "token":
        return await tokenCommand(rest, settings, out);
      default:
        throw new CliError(`unknown command "${command}"\n\n${mainHelp}`);
    }
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`orchestrator: ${error.message}`);
      return error.exitCode;
    }
    if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`orchestrator: ${(error as Error).message}`);
      return 2;
    }
    throw error;
  }
}
