import { runProject } from "../support/spawn-server.ts";
import { waitFor } from "../support/wait.ts";

/** A long-running `bin/orchestrator.js` (logs -f, events -w): its output, awaited and ended. */
export function cliFollowing(args: readonly string[], env: Readonly<Record<string, string>>) {
  const running = runProject(["bin/orchestrator.js", ...args], env);
  return {
    output: () => running.output(),
    /** Waits until standard output holds `text` (generous deadline: a busy machine). */
    until: (text: string | RegExp) =>
      waitFor(
        async () => running.output().stdout,
        (stdout) => (typeof text === "string" ? stdout.includes(text) : text.test(stdout)),
        { timeoutMs: 90_000, what: `output with ${text}` },
      ),
    /** Ctrl-C: the command ends by itself, with its exit code. */
    stop: async () => {
      running.kill("SIGINT");
      return running.exited;
    },
  };
}
