import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { connectDocker } from "../../src/docker/connection.ts";
import { dockerStatus } from "../../src/docker/retry.ts";
import { parseSuitesRegister, refusedNetworksRegister, runMarker } from "./run-id.ts";

/**
 * What a test run left behind: Docker containers, images, networks and volumes whose name,
 * tag or managed-by label carries the run's marker (every ORCHESTRATOR_ID of the run does), and
 * whatever remains in the run's temporary folder (then removed). Things of other runs on the
 * same machine are not this run's to report. Each is named with the suite that made it, from
 * the run's register of suites (`suitesRegister`, see testOrchestratorId).
 *
 * Apart from those, `engineDefects`: networks of the run that no container is on, which the
 * engine still refuses to remove ("has active endpoints"). Docker 20.10 can lose count of a
 * network's endpoints when a container goes while it is being started or connected (moby
 * #42119); such a network stays until the engine restarts, whatever its owner does. So does
 * a network the register of refusals names (refusedNetworksRegister: its suite's cleanup met
 * that refusal), removed or not by now: an engine restart later in the run clears the count,
 * and it then looks like any network left behind.
 */
export async function findLeftovers(
  runId: string,
  runTempDir: string,
  suitesRegister = "",
): Promise<{ leftovers: string[]; engineDefects: string[] }> {
  const marker = runMarker(runId);
  const readRegister = async (file: string | undefined) =>
    parseSuitesRegister(
      file === undefined || file === "" ? "" : await readFile(file, "utf8").catch(() => ""),
    );
  const suites = await readRegister(suitesRegister);
  const refusedNetworks = await readRegister(refusedNetworksRegister(suitesRegister));
  const ours = (...names: ReadonlyArray<string | undefined>) =>
    names.some((name) => name?.includes(marker) === true);
  const of = (...names: ReadonlyArray<string | undefined>) => {
    for (const [id, suite] of suites) {
      if (names.some((name) => name?.includes(id) === true)) return ` [made by ${suite}]`;
    }
    return "";
  };
  const found: string[] = [];
  const engineDefects: string[] = [];
  const docker = connectDocker(process.env.DOCKER_HOST);
  try {
    for (const container of await docker.listContainers({ all: true })) {
      const names = [...container.Names, container.Labels["managed-by"]];
      if (ours(...names)) {
        found.push(`container ${container.Names[0]} (${container.State})${of(...names)}`);
      }
    }
    for (const image of await docker.listImages()) {
      const names = [...(image.RepoTags ?? []), image.Labels?.["managed-by"]];
      if (ours(...names)) found.push(`image ${image.RepoTags?.[0] ?? image.Id}${of(...names)}`);
    }
    for (const network of await docker.listNetworks()) {
      const names = [network.Name, network.Labels?.["managed-by"]];
      if (!ours(...names)) continue;
      const refusal = await refusedEmptyNetwork(docker, network.Id);
      const refusedAtCleanup = refusedNetworks.get(network.Name);
      if (refusal !== undefined) {
        engineDefects.push(`network ${network.Name}${of(...names)}: ${refusal}`);
      } else if (refusedAtCleanup !== undefined) {
        engineDefects.push(
          `network ${network.Name}${of(...names)}: refused at its suite's cleanup (${refusedAtCleanup})`,
        );
      } else found.push(`network ${network.Name}${of(...names)}`);
    }
    for (const volume of (await docker.listVolumes()).Volumes ?? []) {
      const names = [volume.Name, volume.Labels?.["managed-by"]];
      if (ours(...names)) found.push(`volume ${volume.Name}${of(...names)}`);
    }
  } catch (error) {
    found.push(`(could not list Docker to check: ${(error as Error).message})`);
  }
  if (runTempDir !== "") {
    const entries = await readdir(runTempDir).catch(() => [] as string[]);
    for (const entry of entries) found.push(`temporary ${path.join(runTempDir, entry)}`);
    await rm(runTempDir, { recursive: true, force: true });
  }
  if (suitesRegister !== "") {
    await rm(suitesRegister, { force: true });
    await rm(refusedNetworksRegister(suitesRegister) ?? "", { force: true });
  }
  return { leftovers: found, engineDefects };
}

/**
 * The engine's refusal to remove a network no container is on, if it refuses for endpoints it
 * still counts (the network is then left as it is); undefined for any other network (one a
 * container is on, one removed now, one refused for another reason).
 */
export async function refusedEmptyNetwork(
  docker: ReturnType<typeof connectDocker>,
  id: string,
): Promise<string | undefined> {
  try {
    const inspected = (await docker.getNetwork(id).inspect()) as {
      Containers?: Record<string, unknown>;
    };
    if (Object.keys(inspected.Containers ?? {}).length > 0) return undefined;
    await docker.getNetwork(id).remove();
    return undefined;
  } catch (error) {
    const { message } = dockerStatus(error);
    return /active endpoints/i.test(message) ? message : undefined;
  }
}
