import { connectDocker } from "../../src/docker/connection.ts";
import { ciIsSet } from "./run-id.ts";

/**
 * A one-node swarm on the suite's engine: the engine's own when it is in one already, else one
 * made here (`docker swarm init --advertise-addr 127.0.0.1`). Returns whether this call made
 * it (then `leaveSwarmIfMade` undoes it), or why there is none; with CI set, no swarm throws.
 */
export async function ensureSwarm(): Promise<
  { ok: true; made: boolean } | { ok: false; reason: string }
> {
  const docker = connectDocker(process.env.DOCKER_HOST);
  const state = async () => (await docker.info()).Swarm?.LocalNodeState as string | undefined;
  if ((await state()) === "active") return { ok: true, made: false };
  try {
    await docker.swarmInit({ ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1" });
    return { ok: true, made: true };
  } catch (error) {
    // Another suite (or process) made it meanwhile: use theirs.
    if ((await state()) === "active") return { ok: true, made: false };
    const reason = `docker swarm init failed: ${(error as Error).message}`;
    if (ciIsSet()) throw new Error(`CI: the Swarm suites need a swarm; ${reason}`);
    return { ok: false, reason };
  }
}

/** Leaves a swarm this suite made, once no service is left on it (another suite's keep it). */
export async function leaveSwarmIfMade(made: boolean): Promise<void> {
  if (!made) return;
  const docker = connectDocker(process.env.DOCKER_HOST);
  const services = await docker.listServices({}).catch(() => []);
  if (services.length > 0) return;
  await docker.swarmLeave({ force: true }).catch(() => {});
}
