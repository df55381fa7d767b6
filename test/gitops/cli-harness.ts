import { runCli } from "../../src/cli/run-cli.ts";
import { runProject } from "../support/spawn-server.ts";

export type CliResult = { code: number; stdout: string; stderr: string };

/** Runs the `orchestrator` command in this process (fast), as a user with `token`. */
export async function cliInProcess(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    environment: { ...env },
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    signal: signal ?? new AbortController().signal,
  });
  return {
    code,
    stdout: out.map((line) => `${line}\n`).join(""),
    stderr: err.map((line) => `${line}\n`).join(""),
  };
}

/** A running in-process command (watch mode): its output so far, and a way to end it. */
export function cliRunning(args: readonly string[], env: Readonly<Record<string, string>>) {
  const controller = new AbortController();
  const out: string[] = [];
  const err: string[] = [];
  const done = runCli(args, {
    environment: { ...env },
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    signal: controller.signal,
  });
  return {
    stdout: () => out.join("\n"),
    stderr: () => err.join("\n"),
    stop: async () => {
      controller.abort();
      return done;
    },
  };
}

/** Runs `bin/orchestrator.js` as its own process, like a user or a CI job would. */
export async function cliProcess(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Promise<CliResult> {
  const running = runProject(["bin/orchestrator.js", ...args], env);
  const exit = await running.exited;
  return { code: exit.code ?? -1, ...running.output() };
}
