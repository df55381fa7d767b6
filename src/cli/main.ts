import { runCli } from "./run-cli.ts";

try {
  const exitCode = await runCli(process.argv.slice(2));
  if (exitCode >= 0) process.exitCode = exitCode;
} catch (error) {
  process.stderr.write(`orchestrator: unexpected error: ${(error as Error).stack ?? error}\n`);
  process.exitCode = 2;
}
