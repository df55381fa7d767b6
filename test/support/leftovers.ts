import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { connectDocker } from "../../src/docker/connection.ts";
import { runMarker } from "./run-id.ts";

/**
 * What a test run left behind: Docker containers, images, networks and volumes whose name,
 * tag or managed-by label carries the run's marker (every ORCHESTRATOR_ID of the run does), and
 * whatever remains in the run's temporary folder (then removed). Things of other runs on the
 * same machine are not this run's to report.
 */
export async function findLeftovers(runId: string, runTempDir: string): Promise<string[]> {
  const marker = runMarker(runId);
  const ours = (...names: ReadonlyArray<string | undefined>) =>
    names.some((name) => name?.includes(marker) === true);
  const found: string[] = [];
  const docker = connectDocker(process.env.DOCKER_HOST);
  try {
    for (const container of await docker.listContainers({ all: true })) {
      if (ours(...container.Names, container.Labels["managed-by"]))
        found.push(`container ${container.Names[0]} (${container.State})`);
    }
    for (const image of await docker.listImages()) {
      if (ours(...(image.RepoTags ?? []), image.Labels?.["managed-by"]))
        found.push(`image ${image.RepoTags?.[0] ?? image.Id}`);
    }
    for (const network of await docker.listNetworks()) {
      if (ours(network.Name, network.Labels?.["managed-by"])) found.push(`network ${network.Name}`);
    }
    for (const volume of (await docker.listVolumes()).Volumes ?? []) {
      if (ours(volume.Name, volume.Labels?.["managed-by"])) found.push(`volume ${volume.Name}`);
    }
  } catch (error) {
    found.push(`(could not list Docker to check: ${(error as Error).message})`);
  }
  if (runTempDir !== "") {
    const entries = await readdir(runTempDir).catch(() => [] as string[]);
    for (const entry of entries) found.push(`temporary ${path.join(runTempDir, entry)}`);
    await rm(runTempDir, { recursive: true, force: true });
  }
  return found;
}
