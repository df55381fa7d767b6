import { createHash } from "node:crypto";
import { access, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker, httpGet } from "../support/docker-helpers.ts";
import { hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import type { TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import {
  archiveOf,
  builtTag,
  contentTypes,
  eventsOf,
  getImage,
  instancesOf,
  putSource,
  startBuildServer,
  uploadImage,
  waitForStatus,
  webApp,
} from "./build-support.ts";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe.runIf(hasDocker())("sources over an image's life", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startBuildServer();
  });
  afterAll(() => server?.stop());

  /** Waits until `count` instances run the image's current build and answer `body`. */
  async function servingFromCurrentBuild(
    imageId: number,
    count: number,
    body: string,
    tag = "latest",
  ) {
    await waitForStatus(server, imageId, "ready");
    // What the tag names in the engine is the truth; the API says so once observed.
    const reference = await builtTag(server, imageId, tag);
    const built = (await docker.getImage(reference).inspect()).Id;
    const image = await waitFor(
      () => getImage(server, imageId),
      (current) => current.docker_image_id === built,
      { what: "the API showing the new build" },
    );
    const instances = await waitFor(
      async () => {
        const items = await instancesOf(server, imageId);
        const images = await Promise.all(
          items.map(async (item) => {
            if (item.container_id === null) return undefined;
            const info = await docker.getContainer(item.container_id).inspect();
            return { id: info.Image, reference: info.Config.Image };
          }),
        );
        return { items, images };
      },
      ({ items, images }) =>
        items.length === count &&
        items.every((item) => item.observed_state === "running") &&
        images.every((run) => run?.id === image.docker_image_id && run?.reference === reference),
      { what: `${count} instances of the current build`, timeoutMs: 60_000 },
    );
    for (const instance of instances.items) {
      expect(await httpGet(instance.host_port)).toEqual({ status: 200, body });
    }
    return { image, instances: instances.items };
  }

  it("a new source rolls running instances to the new build only once it is ready", async () => {
    const nonce = Math.random().toString(36).slice(2);
    const first = await uploadImage(
      server,
      { name: "rolling", desired_instances: "2", max_instances: "4" },
      await archiveOf("tar.gz", webApp(`one ${nonce}\n`)),
    );
    expect(first.status).toBe(202);
    const imageId = first.body.id;
    const v1 = await servingFromCurrentBuild(imageId, 2, `one ${nonce}\n`);

    // The new build takes a while: the old instances serve meanwhile.
    const archive = await archiveOf("tar.gz", webApp(`two ${nonce}\n`, "RUN sleep 2\n"));
    const replaced = await putSource(server, imageId, archive, "application/gzip", {
      "x-source-digest": sha256(archive),
    });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(202);
    // Accepted: the build is requested, answered as `building` (as an upload is).
    expect(replaced.body).toMatchObject({
      status: "building",
      source_digest: sha256(archive),
      generation: v1.image.generation + 1,
    });
    await waitForStatus(server, imageId, "building", 30_000);
    for (const instance of v1.instances) {
      expect((await httpGet(instance.host_port)).body).toBe(`one ${nonce}\n`);
    }

    const v2 = await servingFromCurrentBuild(imageId, 2, `two ${nonce}\n`);
    expect(v2.image.docker_image_id).not.toBe(v1.image.docker_image_id);
    const events = await eventsOf(server, imageId);
    const secondReady = events.filter((event) => event.type === "image.ready")[1];
    const secondBuilding = events.filter((event) => event.type === "image.building")[1];
    expect(secondBuilding.data.reason).toBe("source");
    const oldIds = new Set(v1.instances.map((instance) => instance.container_id));
    const oldRemovals = events.filter(
      (event) => event.type === "container.removed" && oldIds.has(event.data.container_id),
    );
    expect(oldRemovals).toHaveLength(2);
    for (const removal of oldRemovals) expect(removal.seq).toBeGreaterThan(secondReady.seq);
    // The build of the first source stays: its revision is kept (a rollback runs it again).
    const builtImages = async () =>
      (
        await docker.listImages({
          filters: {
            label: [
              `${labelKeys.managedBy}=${server.orchestratorId}`,
              `${labelKeys.imageId}=${imageId}`,
            ],
          },
        })
      ).map((image) => image.Id);
    expect((await builtImages()).sort()).toEqual(
      [v1.image.docker_image_id, v2.image.docker_image_id].sort(),
    );

    // POST /rebuild: again from the kept source, without the cache: a new image, rolled out.
    const rebuilt = await server.request("POST", `/api/images/${imageId}/rebuild`);
    expect(rebuilt.status).toBe(202);
    expect(rebuilt.body.status).toBe("building");
    const v3 = await servingFromCurrentBuild(imageId, 2, `two ${nonce}\n`);
    expect(v3.image.docker_image_id).not.toBe(v2.image.docker_image_id);
    const rebuildEvents = (await eventsOf(server, imageId)).filter(
      (event) => event.type === "image.building",
    );
    expect(rebuildEvents.at(-1).data.reason).toBe("rebuild");

    // The same name again as multipart: a new source, and the fields sent change the spec.
    const again = await uploadImage(
      server,
      { name: "rolling", desired_instances: "1" },
      await archiveOf("zip", webApp(`three ${nonce}\n`)),
    );
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect(again.body).toMatchObject({ id: imageId, desired_instances: 1, max_instances: 4 });
    await servingFromCurrentBuild(imageId, 1, `three ${nonce}\n`);
  });

  it("a new tag builds the kept source under it, and the instances move to it", async () => {
    const nonce = Math.random().toString(36).slice(2);
    const uploaded = await uploadImage(
      server,
      { name: "retagged", tag: "v1", desired_instances: "1" },
      await archiveOf("tar", webApp(`tagged ${nonce}\n`)),
    );
    const imageId = uploaded.body.id;
    await servingFromCurrentBuild(imageId, 1, `tagged ${nonce}\n`, "v1");
    const patched = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { tag: "v2" },
    });
    expect(patched.status).toBe(200);
    await waitFor(
      async () => (await eventsOf(server, imageId)).filter((event) => event.type === "image.ready"),
      (ready) => ready.length === 2,
      { what: "a second build", timeoutMs: 60_000 },
    );
    const { instances } = await servingFromCurrentBuild(imageId, 1, `tagged ${nonce}\n`, "v2");
    const info = await docker.getContainer(instances[0].container_id).inspect();
    expect(info.Config.Image).toBe(await builtTag(server, imageId, "v2"));
    const building = (await eventsOf(server, imageId)).filter(
      (event) => event.type === "image.building",
    );
    expect(building.map((event) => event.data.reason)).toEqual(["upload", "image_missing"]);
  });

  it("an image made by apply with a source_digest waits for its source, then builds from a PUT", async () => {
    const archive = await archiveOf("zip", webApp("applied\n"));
    const applied = await server.request("POST", "/api/apply", {
      body: {
        set: "lifecycle",
        documents: [{ name: "applied", source_digest: sha256(archive), desired_instances: 1 }],
      },
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.items[0]).toMatchObject({ action: "create", needs_upload: true });
    const imageId = applied.body.items[0].image_id;
    const waiting = await waitFor(
      () => getImage(server, imageId),
      (image) => image.conditions.some((condition: any) => condition.reason === "WaitingForSource"),
      { what: "WaitingForSource" },
    );
    expect(waiting).toMatchObject({ status: "pending", source_path: null, source_digest: null });

    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(archive)]), "applied.zip");
    const put = await fetch(`${server.url}/api/images/${imageId}/source`, {
      method: "PUT",
      headers: { authorization: `Bearer ${server.adminToken}` },
      body: form,
    });
    expect(put.status).toBe(202);
    await servingFromCurrentBuild(imageId, 1, "applied\n");
    expect((await getImage(server, imageId)).source_digest).toBe(sha256(archive));

    // The client's next apply of the same folder has nothing to upload.
    const again = await server.request("POST", "/api/apply?dry_run=1", {
      body: {
        set: "lifecycle",
        documents: [{ name: "applied", source_digest: sha256(archive), desired_instances: 1 }],
      },
    });
    expect(again.body.items[0]).toMatchObject({ action: "unchanged", needs_upload: false });
  });

  it("refuses a PUT whose bytes do not match X-Source-Digest, changing nothing", async () => {
    const archive = await archiveOf("tar", webApp("digest\n"));
    const uploaded = await uploadImage(server, { name: "digest", desired_instances: "0" }, archive);
    const imageId = uploaded.body.id;
    await waitForStatus(server, imageId, "ready");
    const other = await archiveOf("tar", webApp("other\n"));
    const refused = await putSource(server, imageId, other, contentTypes.tar, {
      "x-source-digest": sha256(archive),
    });
    expect(refused.status).toBe(422);
    expect(refused.body.errors[0].path).toBe("x-source-digest");
    const image = await getImage(server, imageId);
    expect(image).toMatchObject({ status: "ready", source_digest: sha256(archive) });
  });

  it("refuses sources for images that are not built from source, and other tenants' images", async () => {
    const reference = await server.request("POST", "/api/images", {
      body: { name: "by-reference", image: testImages.httpd, desired_instances: 0 },
    });
    const archive = await archiveOf("tar.gz", webApp("x\n"));
    const put = await putSource(server, reference.body.id, archive, "application/gzip");
    expect(put.status).toBe(409);
    const rebuild = await server.request("POST", `/api/images/${reference.body.id}/rebuild`);
    expect(rebuild.status).toBe(409);
    const sameName = await uploadImage(server, { name: "by-reference" }, archive);
    expect(sameName.status).toBe(409);
    expect(sameName.body.code).toBe("name_taken");

    const alice = await server.createUser("alice");
    const bob = await server.createUser("bob");
    const own = await uploadImage(server, { name: "private", desired_instances: "0" }, archive, {
      token: alice,
    });
    expect(own.status).toBe(202);
    expect(own.body.user_id).not.toBe("1");
    const asBob = (method: string, path: string) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${bob}`, "content-type": "application/gzip" },
        ...(method === "PUT" ? { body: new Uint8Array(archive) } : {}),
      });
    expect((await asBob("PUT", `/api/images/${own.body.id}/source`)).status).toBe(404);
    expect((await asBob("POST", `/api/images/${own.body.id}/rebuild`)).status).toBe(404);
    expect((await asBob("GET", `/api/images/${own.body.id}/build-logs`)).status).toBe(404);
    expect((await asBob("GET", `/api/images/${own.body.id}/build-logs?follow=1`)).status).toBe(404);
    // The same name is another image for another user.
    const bobs = await uploadImage(server, { name: "private", desired_instances: "0" }, archive, {
      token: bob,
    });
    expect(bobs.status).toBe(202);
    expect(bobs.body.id).not.toBe(own.body.id);
  });

  it("DELETE removes the containers, the built image, the kept source and the build logs", async () => {
    const uploaded = await uploadImage(
      server,
      { name: "doomed", tag: "v7", desired_instances: "1" },
      await archiveOf("tar.gz", webApp("doomed\n")),
    );
    const imageId = uploaded.body.id;
    await servingFromCurrentBuild(imageId, 1, "doomed\n", "v7");
    const folder = join(server.dataDir, "build-contexts", "1", String(imageId));
    const logs = join(server.dataDir, "build-logs", String(imageId));
    expect(await readdir(folder)).toEqual(["context"]);
    expect((await readdir(logs)).length).toBe(1);
    const tag = await builtTag(server, imageId, "v7");
    await docker.getImage(tag).inspect();

    const deleted = await server.request("DELETE", `/api/images/${imageId}`);
    expect(deleted.status).toBe(202);
    await waitFor(
      async () => (await server.request("GET", `/api/images/${imageId}`)).status,
      (status) => status === 404,
      { what: "image row gone", timeoutMs: 60_000 },
    );
    await expect(docker.getImage(tag).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const labelled = await docker.listImages({
      filters: {
        label: [
          `${labelKeys.managedBy}=${server.orchestratorId}`,
          `${labelKeys.imageId}=${imageId}`,
        ],
      },
    });
    expect(labelled).toEqual([]);
    expect(await exists(folder)).toBe(false);
    expect(await exists(logs)).toBe(false);
    const events = await eventsOf(server, imageId);
    expect(events.at(-1).type).toBe("image.deleted");
  });
});
