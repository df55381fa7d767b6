import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { DataDirBusyError, lockDataDir } from "../../src/store/data-dir-lock.ts";
import { openStore } from "../../src/store/database.ts";
import { waitFor } from "../support/wait.ts";

const holderScript = fileURLToPath(new URL("../support/hold-data-dir.ts", import.meta.url));
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "orch-lock-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A new pid namespace, also without root where user namespaces are allowed. */
const unshare = ["--user", "--map-root-user", "--pid", "--fork", "--kill-child"];
const canUnshare = spawnSync("unshare", [...unshare, "true"]).status === 0;
if (!canUnshare && !process.env.CI) {
  console.warn("[test] skipping the pid-1 lock test: `unshare` cannot make a pid namespace here");
}

/** `node hold-data-dir.ts DIR`, alone or in a pid namespace of its own (pid 1, as in a container). */
function holderCommand(dir: string, asPidOne: boolean): [string, string[]] {
  const node = [process.execPath, "--disable-warning=ExperimentalWarning", holderScript, dir];
  // --kill-child: when unshare is killed -9, the kernel kills the process inside with it.
  return asPidOne ? ["unshare", [...unshare, ...node]] : [node[0] as string, node.slice(1)];
}

function start(dir: string, asPidOne = false) {
  const [command, args] = holderCommand(dir, asPidOne);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  cleanups.push(async () => {
    child.kill("SIGKILL");
    await exited;
  });
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/** Starts a holder and waits until it says it has the lock. */
async function holdLock(dir: string, asPidOne = false) {
  const holder = start(dir, asPidOne);
  await waitFor(
    async () => holder.output(),
    (output) => output.stdout.includes("locked"),
    { timeoutMs: 60_000, what: "the lock holder" },
  );
  return holder;
}

describe("one process per DATA_DIR", () => {
  it("refuses a second holder in the same process until the first releases it", async () => {
    const dir = await scratchDir();
    const release = await lockDataDir(dir);
    await expect(lockDataDir(dir)).rejects.toThrow(DataDirBusyError);
    await expect(lockDataDir(dir)).rejects.toThrow(`is in use by process ${process.pid}`);
    await release();
    const again = await lockDataDir(dir);
    await again();
  });

  it("refuses the embedded database to a second process, and lets it in once the holder is killed -9", async () => {
    const dir = await scratchDir();
    const holder = await holdLock(dir);
    await expect(openStore({ kind: "pglite", dataDir: path.join(dir, "pglite") })).rejects.toThrow(
      /DATA_DIR .* is in use by process \d+ on host/,
    );

    holder.child.kill("SIGKILL");
    expect((await holder.exited).signal).toBe("SIGKILL");
    // The kernel dropped the lock with the process: no stale file stands in the way.
    const store = await openStore({ kind: "pglite", dataDir: path.join(dir, "pglite") });
    await store.close();
  });

  it.skipIf(!canUnshare && !process.env.CI)(
    "tells apart two processes that are both pid 1, as in two containers",
    async () => {
      const dir = await scratchDir();
      const holder = await holdLock(dir, true);
      expect(holder.output().stdout).toContain("locked pid=1");

      const second = start(dir, true);
      const answer = await waitFor(
        async () => second.output().stdout,
        (stdout) => /locked|busy/.test(stdout),
        { timeoutMs: 60_000, what: "the second process's answer" },
      );
      expect(answer).toContain("busy");
      expect(await second.exited).toEqual({ code: 3, signal: null });
      expect(second.output().stdout).toContain("is in use by process 1 on host");

      holder.child.kill("SIGKILL");
      await holder.exited;
      const third = await holdLock(dir, true);
      expect(third.output().stdout).toContain("locked pid=1");
    },
  );
});
