/**
 * Rollbacks (issue 18): `POST /api/images/{id}/rollback` writes an earlier revision's spec as a
 * new revision, and an uploaded image runs that revision's built image again (no build): the
 * containers end up with the old env and the very image id the revision recorded. Bad bodies,
 * unknown revisions, other tenants; pause and resume. The upload case on PGlite (the builds and
 * the engine are under test), the API cases on both backends; all on the real engine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  archiveOf,
  contentTypes,
  putSource,
  startBuildServer,
  uploadImage,
  webApp,
} from "../builds/build-support.ts";
import { testBaseImage } from "../support/base-image.ts";
import { docker, managedContainers } from "../support/docker-helpers.ts";
import { backends, hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/** What each running container of the image runs: its image id and env. */
async function containersOf(server: TestServer, imageId: number) {
  const listed = await managedContainers(server.orchestratorId, imageId);
  return Promise.all(
    listed
      .filter((container) => container.State === "running")
      .map(async (container) => {
        const inspected = await docker.getContainer(container.Id).inspect();
        return { image: inspected.Image, env: inspected.Config.Env ?? [] };
      }),
  );
}

const revisionsOf = async (server: TestServer, imageId: number, token?: string) =>
  (await server.request("GET", `/api/images/${imageId}/revisions`, token ? { token } : {})).body
    .items as any[];

describe.runIf(hasDocker())("rollback of an uploaded image", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startBuildServer({ env: { RATE_LIMIT_WRITES_PER_MINUTE: "100000" } });
  });
  afterAll(() => server?.stop());

  /** Waits for the newest revision to be `revision` with its image, and every container on it. */
  async function settledOn(imageId: number, revision: number, mode: string) {
    const [row] = await waitFor(
      () => revisionsOf(server, imageId),
      (rows) => rows[0]?.revision === revision && rows[0]?.docker_image_id !== null,
      { what: `revision ${revision} with its image`, timeoutMs: 180_000 },
    );
    await waitFor(
      () => containersOf(server, imageId),
      (running) =>
        running.length === 2 &&
        running.every(
          (each) => each.image === row.docker_image_id && each.env.includes(`MODE=${mode}`),
        ),
      { what: `both containers on revision ${revision} (MODE=${mode})`, timeoutMs: 180_000 },
    );
    return row;
  }

  const patch = (imageId: number, body: unknown) =>
    server.request("PATCH", `/api/images/${imageId}`, { body });

  it("runs revision n-2's spec and built image again, without building", async () => {
    const uploaded = await uploadImage(
      server,
      { name: "roll-back", desired_instances: "2", min_instances: "0" },
      await archiveOf("tar.gz", webApp("roll-back")),
    );
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(202);
    const imageId = uploaded.body.id as number;
    await waitFor(
      () => revisionsOf(server, imageId),
      (rows) => rows[0]?.docker_image_id != null,
      { what: "the first build", timeoutMs: 180_000 },
    );
    expect((await patch(imageId, { env: { MODE: "one" } })).status).toBe(200);
    const second = await settledOn(imageId, 2, "one");
    expect((await server.request("POST", `/api/images/${imageId}/rebuild`)).status).toBe(202);
    expect((await patch(imageId, { env: { MODE: "two" } })).status).toBe(200);
    // Revision 4 runs a new build (the rebuild), with MODE=two.
    const fourth = await settledOn(imageId, 4, "two");
    expect(fourth.docker_image_id).not.toBe(second.docker_image_id);
    const buildsBefore = (await server.request("GET", `/api/images/${imageId}/build-logs`)).body
      .build_generation;

    const rolled = await server.request("POST", `/api/images/${imageId}/rollback`, {
      body: { revision: 2 },
    });
    expect(rolled.status, JSON.stringify(rolled.body)).toBe(202);
    expect(rolled.body).toMatchObject({
      image_id: imageId,
      revision: 5,
      cause: "rollback to revision 2",
      actor: "admin",
      docker_image_id: second.docker_image_id,
      current: true,
    });
    expect(rolled.body.spec.env).toEqual({ MODE: "one" });

    // The containers run revision 2's env on revision 2's very image.
    await settledOn(imageId, 5, "one");
    const running = await containersOf(server, imageId);
    expect(running.map((each) => each.image)).toEqual([
      second.docker_image_id,
      second.docker_image_id,
    ]);
    const image = (await server.request("GET", `/api/images/${imageId}`)).body;
    expect(image.status).toBe("ready");
    expect(image.docker_image_id).toBe(second.docker_image_id);
    const after = (await server.request("GET", `/api/images/${imageId}/build-logs`)).body;
    expect(after.build_generation).toBe(buildsBefore);
    const audit = await server.request("GET", `/api/audit?image_id=${imageId}`);
    expect(audit.body.items.map((row: any) => row.action)).toContain("image.rollback");

    // Revision 4's build, gone from the engine (removed by hand): no rollback to it (409).
    await docker.getImage(fourth.docker_image_id).remove({ force: true });
    const gone = await server.request("POST", `/api/images/${imageId}/rollback`, {
      body: { revision: 4 },
    });
    expect(gone.status, JSON.stringify(gone.body)).toBe(409);
    expect(gone.body.code).toBe("revision_image_gone");
    expect((await revisionsOf(server, imageId)).map((row) => row.revision)).toEqual([
      5, 4, 3, 2, 1,
    ]);
  }, 900_000);

  it("rolls a bad build back by itself to the build before, without building", async () => {
    const uploaded = await uploadImage(
      server,
      { name: "bad-build", desired_instances: "2", min_instances: "0" },
      await archiveOf("tar.gz", webApp("good build")),
    );
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(202);
    const imageId = uploaded.body.id as number;
    // Checked over HTTP, tolerant of a loaded machine; start first, counted after 20 s ready.
    const gated = await patch(imageId, {
      env: { MODE: "good" },
      health_check: { http_path: "/index.html", interval: "1s", timeout: "5s", retries: 3 },
      rollout: { max_surge: 1, max_unavailable: 0, min_ready: "20s", progress_deadline: "5m" },
    });
    expect(gated.status, JSON.stringify(gated.body)).toBe(200);
    const [good] = await waitFor(
      () => revisionsOf(server, imageId),
      (rows) => rows[0]?.revision === 2 && rows[0]?.docker_image_id != null,
      { what: "revision 2 with its build", timeoutMs: 180_000 },
    );
    await waitFor(
      () => server.request("GET", `/api/images/${imageId}`).then((answer) => answer.body),
      (image) =>
        image.conditions.some((c: any) => c.type === "Ready" && c.status === "True") &&
        image.observed_generation === image.generation,
      { what: "revision 2 Ready", timeoutMs: 180_000 },
    );
    const buildsBefore = (await server.request("GET", `/api/images/${imageId}/build-logs`)).body
      .build_generation;

    // Sampled every 100 ms until it is over: the ready instances on the good build never drop
    // below desired - max_unavailable (2 - 0).
    let sampling = true;
    const samples: number[] = [];
    const sampler = (async () => {
      while (sampling) {
        const [items, containers] = await Promise.all([
          server
            .request("GET", `/api/images/${imageId}/containers`)
            .then((answer) => answer.body.items as any[]),
          managedContainers(server.orchestratorId, imageId),
        ]);
        const imageOf = new Map(containers.map((container) => [container.Id, container.ImageID]));
        samples.push(
          items.filter(
            (item) =>
              item.observed_state === "running" &&
              item.health === "healthy" &&
              imageOf.get(item.container_id) === good.docker_image_id,
          ).length,
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    // The new source builds fine, serves a few seconds, then its page is gone: unhealthy.
    const bad = await putSource(
      server,
      imageId,
      await archiveOf("tar.gz", [
        {
          name: "Dockerfile",
          content: `FROM ${testBaseImage}\nCOPY index.html /www/index.html\nCMD ["sh", "-c", "httpd -p 8080 -h /www && sleep 4 && rm /www/index.html && sleep 3600"]\n`,
        },
        { name: "index.html", content: "bad build" },
      ]),
      contentTypes["tar.gz"],
    );
    expect(bad.status, JSON.stringify(bad.body)).toBe(202);

    const [restored] = await waitFor(
      () => revisionsOf(server, imageId),
      (rows) => /^rollback to revision 2: the rollout of revision 3 failed/.test(rows[0]?.cause),
      { what: "the automatic rollback to revision 2", timeoutMs: 300_000 },
    );
    expect(restored).toMatchObject({
      revision: 4,
      actor: "controller",
      docker_image_id: good.docker_image_id,
    });
    // Both containers run revision 2's very build again, and no build ran for it.
    await waitFor(
      () => containersOf(server, imageId),
      (running) =>
        running.length === 2 &&
        running.every(
          (each) => each.image === good.docker_image_id && each.env.includes("MODE=good"),
        ),
      { what: "both containers on revision 2's build", timeoutMs: 180_000 },
    );
    sampling = false;
    await sampler;
    expect(samples.length).toBeGreaterThan(50);
    expect(Math.min(...samples)).toBe(2);
    const after = (await server.request("GET", `/api/images/${imageId}/build-logs`)).body;
    expect(after.build_generation).toBe(buildsBefore + 1);
    // The rollback's rollout completes once its containers were ready for min_ready: a pass
    // after the one that put them in place records it.
    const rolloutEvents = async () =>
      (
        (await server.request("GET", `/api/events?image_id=${imageId}&limit=1000`)).body
          .items as any[]
      )
        .map((event) => event.type as string)
        .filter((type) => /^image\.(rollout_|rolled_back)/.test(type));
    const types = await waitFor(
      rolloutEvents,
      (listed) => listed.slice(listed.lastIndexOf("image.rolled_back")).length > 1,
      { what: "an event after image.rolled_back", timeoutMs: 60_000 },
    );
    expect(types.slice(-4)).toEqual([
      "image.rollout_started",
      "image.rollout_failed",
      "image.rolled_back",
      "image.rollout_completed",
    ]);
  }, 900_000);
});

describe.each(backends())("rollback and rollout pause on %s", (backend) => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    server = await startTestServer({
      backend,
      env: { RATE_LIMIT_WRITES_PER_MINUTE: "100000" },
    });
    alice = await server.createUser("alice");
    bob = await server.createUser("bob");
  });
  afterAll(() => server?.stop());

  async function createImage(name: string): Promise<number> {
    const created = await server.request("POST", "/api/images", {
      token: alice,
      body: {
        name,
        image: testImages.httpd,
        min_instances: 0,
        max_instances: 2,
        desired_instances: 0,
        env: { MODE: "one" },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const imageId = created.body.id as number;
    for (const mode of ["two", "three"]) {
      const changed = await server.request("PATCH", `/api/images/${imageId}`, {
        token: alice,
        body: { env: { MODE: mode } },
      });
      expect(changed.status).toBe(200);
    }
    return imageId;
  }

  const post = (path: string, token: string, body?: unknown) =>
    server.request("POST", path, { token, ...(body === undefined ? {} : { body }) });

  it("without a revision, returns to the previous one; the instance count stays", async () => {
    const imageId = await createImage("undo");
    await server.request("PATCH", `/api/images/${imageId}`, {
      token: alice,
      body: { desired_instances: 1 },
    });
    const rolled = await post(`/api/images/${imageId}/rollback`, alice);
    expect(rolled.status, JSON.stringify(rolled.body)).toBe(202);
    expect(rolled.body).toMatchObject({ revision: 4, cause: "rollback to revision 2" });
    const image = (await server.request("GET", `/api/images/${imageId}`, { token: alice })).body;
    expect(image.env).toEqual({ MODE: "two" });
    expect(image.desired_instances).toBe(1);
    expect((await revisionsOf(server, imageId, alice)).map((row) => row.revision)).toEqual([
      4, 3, 2, 1,
    ]);
  });

  it("refuses bad bodies (422 with the field), unknown and current revisions, changing nothing", async () => {
    const imageId = await createImage("refusals");
    for (const body of [{ revision: "1" }, { revision: 0 }, { revision: 1.5 }, { other: 1 }]) {
      const refused = await post(`/api/images/${imageId}/rollback`, alice, body);
      expect(refused.status, JSON.stringify(body)).toBe(422);
      expect(refused.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(refused.body.errors[0].path, JSON.stringify(refused.body)).toBe(
        "other" in body ? "other" : "revision",
      );
    }
    const unknown = await post(`/api/images/${imageId}/rollback`, alice, { revision: 9 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("revision_not_found");
    const current = await post(`/api/images/${imageId}/rollback`, alice, { revision: 3 });
    expect(current.status).toBe(409);
    expect((await revisionsOf(server, imageId, alice)).map((row) => row.revision)).toEqual([
      3, 2, 1,
    ]);
  });

  it("refuses a rollback of an image being deleted (409)", async () => {
    const imageId = await createImage("deleting");
    // An instance that ignores its stop signal for a minute keeps the image in `deleting`.
    const slow = await server.request("PATCH", `/api/images/${imageId}`, {
      token: alice,
      body: { desired_instances: 1, stop_signal: "SIGWINCH", stop_grace_period: "60s" },
    });
    expect(slow.status, JSON.stringify(slow.body)).toBe(200);
    await waitFor(
      () => managedContainers(server.orchestratorId, imageId),
      (listed) => listed.some((container) => container.State === "running"),
      { what: "the instance running", timeoutMs: 60_000 },
    );
    const deleted = await server.request("DELETE", `/api/images/${imageId}`, { token: alice });
    expect(deleted.status).toBe(202);
    const refused = await post(`/api/images/${imageId}/rollback`, alice, { revision: 1 });
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.code).toBe("conflict");
    expect(refused.body.detail).toMatch(/being deleted/);
  });

  it("another tenant can neither roll back, pause, nor read the history (404 as for no image)", async () => {
    const imageId = await createImage("private");
    for (const path of [
      `/api/images/${imageId}/rollback`,
      `/api/images/${imageId}/rollout/pause`,
      `/api/images/${imageId}/rollout/resume`,
    ]) {
      const asBob = await post(path, bob, path.endsWith("rollback") ? { revision: 1 } : undefined);
      expect(asBob.status, path).toBe(404);
      const missing = await post(path.replace(String(imageId), "999999"), alice);
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe(asBob.body.code);
    }
    const history = await server.request("GET", `/api/images/${imageId}/revisions`, { token: bob });
    expect(history.status).toBe(404);
    expect((await revisionsOf(server, imageId, alice)).map((row) => row.revision)).toEqual([
      3, 2, 1,
    ]);
    const image = (await server.request("GET", `/api/images/${imageId}`, { token: alice })).body;
    expect(image.rollout_paused).toBe(false);
  });

  it("pause and resume set and clear rollout_paused, idempotently, audited once each", async () => {
    const imageId = await createImage("paused");
    const before = (await server.request("GET", `/api/images/${imageId}`, { token: alice })).body;
    expect(before.rollout_paused).toBe(false);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const paused = await post(`/api/images/${imageId}/rollout/pause`, alice);
      expect(paused.status).toBe(200);
      expect(paused.body).toMatchObject({ image_id: imageId, rollout_paused: true });
    }
    expect(
      (await server.request("GET", `/api/images/${imageId}`, { token: alice })).body.rollout_paused,
    ).toBe(true);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const resumed = await post(`/api/images/${imageId}/rollout/resume`, alice);
      expect(resumed.status).toBe(200);
      expect(resumed.body.rollout_paused).toBe(false);
    }
    const after = (await server.request("GET", `/api/images/${imageId}`, { token: alice })).body;
    expect(after.rollout_paused).toBe(false);
    expect(after.resource_version).toBe(before.resource_version + 2);
    const audit = await server.request("GET", `/api/audit?image_id=${imageId}`);
    const actions = audit.body.items.map((row: any) => row.action);
    expect(actions.filter((action: string) => action === "rollout.pause")).toHaveLength(1);
    expect(actions.filter((action: string) => action === "rollout.resume")).toHaveLength(1);
  });
});
