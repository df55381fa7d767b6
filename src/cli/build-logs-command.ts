import { CliError, exitCodes } from "./cli-error.ts";
import { type CommandIo, parseCommand } from "./command-io.ts";
import { findImage } from "./resolve-names.ts";
import { paint } from "./terminal.ts";

export const buildLogsHelp = `Usage: orchestrator build-logs NAME [-f]

Prints the log of an image's current (or last) build. With -f, follows it as it is
written until the build ends; exits 1 when that build failed.

Options:
  -f, --follow   follow the build until it ends
  -h, --help     show this help`;

export async function buildLogsCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand(args, { follow: { type: "boolean", short: "f" } }, buildLogsHelp, io);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new CliError("build-logs needs one image NAME (see --help)");
  const client = await io.client();
  const image = await findImage(client, positionals[0] as string);
  if (!values.follow) {
    const logs = await client.images.buildLogs(image.id);
    const lines = logs.logs.split("\n");
    if (lines.at(-1) === "") lines.pop();
    for (const line of lines) io.out(line);
    if (logs.truncated) io.err("orchestrator: (the log was cut in the middle: it is too long)");
    return 0;
  }
  for await (const message of client.images.followBuildLogs(image.id, { signal: io.signal })) {
    if (message.kind === "log") io.out(message.line);
    else if (message.kind === "build") {
      io.err(`orchestrator: a newer build (${message.buildGeneration}) started; following it`);
    } else {
      const failed = message.status === "build_failed";
      const text = failed
        ? `build failed${message.error === null ? "" : `: ${message.error}`}`
        : `build ended: ${message.status}`;
      io.err(`orchestrator: ${paint(io.terminal, failed ? "red" : "green", text)}`);
      return failed ? exitCodes.failed : 0;
    }
  }
  return 0;
}
