import { OrchestratorError, type ServerVersion } from "../client/index.ts";
import { packageVersion } from "../package-version.ts";
import { CliError, cliErrorOf } from "./cli-error.ts";
import { type CommandIo, parseCommand, parseOutput } from "./command-io.ts";

export const versionHelp = `Usage: orchestrator version [--client] [-o table|json]

Prints this command's version and the server's (package, HTTP contract, Node).

Options:
      --client     only this command's version (no server needed)
  -o, --output F   table (default) or json
  -h, --help       show this help`;

export async function versionCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand(
    args,
    {
      client: { type: "boolean" },
      output: { type: "string", short: "o" },
    },
    versionHelp,
    io,
  );
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new CliError("version takes no arguments (see --help)");
  const output = parseOutput(values.output);
  const client = { version: packageVersion(), node: process.version };
  if (values.client) {
    io.out(output === "json" ? JSON.stringify({ client }) : `Client Version: ${client.version}`);
    return 0;
  }
  if (output === "table") io.out(`Client Version: ${client.version}`);
  let server: ServerVersion;
  try {
    server = await (await io.client()).version();
  } catch (error) {
    if (output === "json") io.out(JSON.stringify({ client }));
    if (error instanceof OrchestratorError) throw cliErrorOf(error);
    throw error;
  }
  if (output === "json") io.out(JSON.stringify({ client, server }));
  else io.out(`Server Version: ${server.version} (API ${server.api_version}, Node ${server.node})`);
  return 0;
}
