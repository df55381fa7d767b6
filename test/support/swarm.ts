import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connectDocker } from "../../src/docker/connection.ts";
import { ciIsSet } from "./run-id.ts";

/** The label a swarm made by the test suites carries, so that whichever suite ends last leaves it. */
const madeByTestsLabel = "orchestrator-test-swarm";

/**
 * Suites using the swarm at the moment, one file each (`{pid}-{random}`) in a folder of the
 * machine's temp dir: suites run in parallel processes, and the last one out leaves.
 */
const holdersDir = path.join(tmpdir(), "orchestrator-test-swarm-holders");

let holder: string | undefined;

function hold(): void {
  mkdirSync(holdersDir, { recursive: true });
  holder = path.join(holdersDir, `${process.pid}-${randomBytes(4).toString("hex")}`);
  writeFileSync(holder, "");
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Lets go of this suite's hold; tells whether another live suite still holds the swarm. */
function release(): boolean {
  if (holder !== undefined) rmSync(holder, { force: true });
  holder = undefined;
  let others = false;
  for (const name of (() => {
    try {
      return readdirSync(holdersDir);
    } catch {
      return [];
    }
  })()) {
    const pid = Number(name.split("-")[0]);
    if (Number.isInteger(pid) && isAlive(pid)) others = true;
    else rmSync(path.join(holdersDir, name), { force: true }); // a crashed suite's
  }
  if (!others) {
    try {
      rmdirSync(holdersDir);
    } catch {
      // another suite took hold meanwhile
    }
  }
  return others;
}

/**
 * A one-node swarm on the suite's engine: the engine's own when it is in one already, else one
 * made here (`docker swarm init --advertise-addr 127.0.0.1`, labelled as the tests'). Returns
 * whether this call made it, or why there is none; with CI set, no swarm throws. Every caller
 * holds the swarm until `leaveSwarmIfMade`.
 */
export async function ensureSwarm(): Promise<
  { ok: true; made: boolean } | { ok: false; reason: string }
> {
  const docker = connectDocker(process.env.DOCKER_HOST);
  hold();
  const state = async () => (await docker.info()).Swarm?.LocalNodeState as string | undefined;
  if ((await state()) === "active") return { ok: true, made: false };
  try {
    // The engine makes docker_gwbridge for a swarm and keeps it after leaving: the label says
    // whether it was there before, so that the suite that leaves removes only one it made.
    const bridgeBefore = await docker
      .getNetwork("docker_gwbridge")
      .inspect()
      .then(() => true)
      .catch(() => false);
    await docker.swarmInit({
      ListenAddr: "127.0.0.1:2377",
      AdvertiseAddr: "127.0.0.1",
      Spec: { Labels: { [madeByTestsLabel]: bridgeBefore ? "true" : "with-gwbridge" } },
    });
    return { ok: true, made: true };
  } catch (error) {
    // Another suite (or process) made it meanwhile: use theirs.
    if ((await state()) === "active") return { ok: true, made: false };
    release();
    const reason = `docker swarm init failed: ${(error as Error).message}`;
    if (ciIsSet()) throw new Error(`CI: the Swarm suites need a swarm; ${reason}`);
    return { ok: false, reason };
  }
}

/**
 * Lets go of the swarm; the last suite out leaves a swarm the suites made (this one, or another
 * that ended first), once no service is left on it, and removes the `docker_gwbridge` network
 * the engine made for it and keeps after leaving. A swarm the engine had before is kept.
 */
export async function leaveSwarmIfMade(made: boolean): Promise<void> {
  if (release()) return;
  const docker = connectDocker(process.env.DOCKER_HOST);
  const label = await docker
    .swarmInspect()
    .then((swarm) => swarm.Spec?.Labels?.[madeByTestsLabel] as string | undefined)
    .catch(() => undefined);
  if (!made && label === undefined) return;
  const services = await docker.listServices({}).catch(() => []);
  if (services.length > 0) return;
  await docker.swarmLeave({ force: true }).catch(() => {});
  if (label !== "with-gwbridge") return;
  // Used by no container once the swarm's tasks are gone (the engine may take a moment).
  const bridge = docker.getNetwork("docker_gwbridge");
  for (let attempt = 0; attempt < 20; attempt++) {
    const outcome = await bridge.remove().then(
      () => "removed",
      (error: { statusCode?: number }) => (error.statusCode === 404 ? "gone" : "busy"),
    );
    if (outcome !== "busy") return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
