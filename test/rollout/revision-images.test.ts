/**
 * Images of kept revisions stay (a rollback runs them again), older builds go: an upload image
 * built 12 times keeps the images of its last 10 revisions in the engine, and the two older
 * builds are removed. On the real engine (PGlite: the builds, not the store, are under test).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { archiveOf, startBuildServer, uploadImage, webApp } from "../builds/build-support.ts";
import { docker } from "../support/docker-helpers.ts";
import { hasDocker } from "../support/services.ts";
import type { TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe.runIf(hasDocker())("images of kept revisions", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startBuildServer({ env: { RATE_LIMIT_WRITES_PER_MINUTE: "100000" } });
  });
  afterAll(() => server?.stop());

  /** The ids of the images the engine holds as built for `imageId`. */
  async function builtImageIds(imageId: number): Promise<string[]> {
    const images = await docker.listImages({
      filters: {
        label: [
          `${labelKeys.managedBy}=${server.orchestratorId}`,
          `${labelKeys.imageId}=${imageId}`,
        ],
      },
    });
    return images.map((image) => image.Id).sort();
  }

  const revisionsOf = async (imageId: number): Promise<any[]> =>
    (await server.request("GET", `/api/images/${imageId}/revisions`)).body.items;

  /** Waits for the newest revision to have its built image, and returns it. */
  const builtRevision = (imageId: number, revision: number) =>
    waitFor(
      () => revisionsOf(imageId),
      (rows) => rows[0]?.revision === revision && rows[0]?.docker_image_id !== null,
      { what: `revision ${revision} built`, timeoutMs: 120_000 },
    ).then((rows) => rows[0]);

  it("keeps the images of the last 10 revisions and removes older builds", async () => {
    const uploaded = await uploadImage(
      server,
      { name: "kept-builds", desired_instances: "0", min_instances: "0" },
      await archiveOf("tar.gz", webApp("kept")),
    );
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(202);
    const imageId = uploaded.body.id as number;
    const built = [(await builtRevision(imageId, 1)).docker_image_id as string];
    for (let revision = 2; revision <= 12; revision += 1) {
      const rebuilt = await server.request("POST", `/api/images/${imageId}/rebuild`);
      expect(rebuilt.status, JSON.stringify(rebuilt.body)).toBe(202);
      built.push((await builtRevision(imageId, revision)).docker_image_id as string);
    }
    // Each build without the cache is a new image.
    expect(new Set(built).size).toBe(12);
    const kept = await revisionsOf(imageId);
    expect(kept.map((row) => row.revision)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(kept.map((row) => row.cause)).toEqual([...Array(10).fill("build.rebuild")]);
    const keptIds = kept.map((row) => row.docker_image_id as string).sort();
    expect(keptIds).toEqual(built.slice(2).sort());
    // The pruner sweeps in the background after a build: the two oldest go, the rest stay.
    const inEngine = await waitFor(
      () => builtImageIds(imageId),
      (ids) => !ids.includes(built[0] as string) && !ids.includes(built[1] as string),
      { what: "the builds of revisions 1 and 2 removed", timeoutMs: 60_000 },
    );
    expect(inEngine).toEqual(keptIds);
  });
});
