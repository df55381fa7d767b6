import { runCli } from "./run-cli.ts";

/** Resolves once everything written to the stream before it has been handed to the system. */
const drained = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => stream.write("", () => resolve()));

try {
  const exitCode = await runCli(process.argv.slice(2));
  // A command that answered is done: exit once its output is out, so that a request the
  // server never answered (given up at --timeout) cannot keep the process alive.
  if (exitCode >= 0) {
    await Promise.all([drained(process.stdout), drained(process.stderr)]);
    process.exit(exitCode);
  }
} catch (error) {
  process.stderr.write(`orchestrator: unexpected error: ${(error as Error).stack ?? error}\n`);
  process.exitCode = 2;
}
