/**
 * The build bookkeeping on a real database (both backends): requests, claims and results keyed
 * by generation, and the status guard that keeps stale writes of the status out.
 */
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { claimBuild, finishBuild, requestBuild } from "../../src/builds/build-records.ts";
import { openStore, type Store } from "../../src/store/database.ts";
import type { ImageRecord } from "../../src/store/records.ts";
import { createScratchDatabase } from "../support/databases.ts";
import { type Backend, backends } from "../support/services.ts";

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function freshStore(backend: Backend): Promise<Store> {
  if (backend === "pglite") {
    const store = await openStore({ kind: "pglite", dataDir: undefined });
    cleanups.push(() => store.close());
    return store;
  }
  const database = await createScratchDatabase();
  cleanups.push(database.drop);
  const store = await openStore({ kind: "postgres", url: database.url });
  cleanups.push(() => store.close());
  return store;
}

const reference = (image: ImageRecord) => `app-u${image.user_id}-i${image.id}:${image.tag}`;

describe.each(backends())("build records on %s", (backend) => {
  let store: Store;
  let serial = 0;

  async function newImage(sourceType: "upload" | "reference"): Promise<ImageRecord> {
    if (store === undefined) store = await freshStore(backend);
    serial += 1;
    return store.transaction((tx) =>
      tx.images.insert({
        user_id: 1,
        name: `image-${serial}`,
        source_type: sourceType,
        image_reference: sourceType === "reference" ? "nginx:1.27" : null,
        tag: "latest",
        status: "pending",
        app_hostname: null,
        container_port: 8080,
        min_instances: 0,
        max_instances: 3,
        desired_instances: 1,
        cpu_limit: "1",
        nano_cpus: 1e9,
        memory_limit: "64m",
        memory_bytes: 64 * 1024 * 1024,
        env: {},
        health_check: null,
        container_options: {},
      }),
    );
  }

  const request = (image: ImageRecord, trigger: "upload" | "rebuild" = "upload") =>
    store.transaction(async (tx) => {
      const current = (await tx.images.findForUpdate(image.id)) as ImageRecord;
      return requestBuild(
        tx,
        current,
        trigger,
        {
          source: { path: `/contexts/1/${image.id}/context`, digest: "ab".repeat(32) },
          bumpGeneration: true,
        },
        { builtImagePrefix: "app", adminUserId: 1 },
      );
    });
  /** What a reconcile pass does with the status it read earlier: writes it back as it was. */
  const staleStatusWrite = (image: ImageRecord, status: ImageRecord["status"]) =>
    store.db.updateTable("images").set({ status }).where("id", "=", image.id).execute();
  const statusOf = async (image: ImageRecord) => (await store.images.find(image.id))?.status;
  const eventTypes = async (image: ImageRecord) =>
    (
      await store.db
        .selectFrom("events")
        .select(["type", sql<string>`data->>'reason'`.as("reason")])
        .where("image_id", "=", image.id)
        .orderBy("seq")
        .execute()
    ).map((event) => `${event.type}:${event.reason}`);

  it("moves an upload through pending, building and ready, one event per step", async () => {
    const image = await newImage("upload");
    const requested = await request(image);
    expect(requested).toMatchObject({
      status: "pending",
      source_path: `/contexts/1/${image.id}/context`,
      generation: image.generation + 1,
    });
    expect(await store.builds.find(image.id)).toMatchObject({ generation: 1, trigger: "upload" });

    expect(await claimBuild(store, image.id, 0, reference)).toBeUndefined();
    const claimed = await claimBuild(store, image.id, 1, reference);
    expect(claimed).toMatchObject({ resumed: false, trigger: "upload" });
    expect(claimed?.image.status).toBe("building");
    // Claimed again after a restart: resumed.
    expect(await claimBuild(store, image.id, 1, reference)).toMatchObject({ resumed: true });

    const written = await finishBuild(store, image.id, 1, "app:latest", {
      ok: true,
      dockerImageId: "sha256:new",
      logs: "Successfully built\n",
    });
    expect(written).toBe(true);
    expect(await store.images.find(image.id)).toMatchObject({
      status: "ready",
      docker_image_id: "sha256:new",
      build_logs: "Successfully built\n",
    });
    expect(await eventTypes(image)).toEqual([
      "image.building:upload",
      "image.building:resumed",
      "image.ready:built",
    ]);
  });

  it("keeps stale status writes out, whichever way they point", async () => {
    const image = await newImage("upload");
    await request(image);
    await claimBuild(store, image.id, 1, reference);
    await staleStatusWrite(image, "pending");
    expect(await statusOf(image)).toBe("building");
    await finishBuild(store, image.id, 1, "app:latest", {
      ok: false,
      reason: "step_failed",
      message: "step 2/2 : RUN false failed",
      logs: "ERROR: failed\n",
    });
    for (const stale of ["pending", "building", "ready"] as const) {
      await staleStatusWrite(image, stale);
      expect(await statusOf(image)).toBe("build_failed");
    }
    expect(await store.builds.find(image.id)).toMatchObject({
      failure_reason: "step_failed",
      error: "step 2/2 : RUN false failed",
    });
    // A new request moves it back, and clears the failure and the old build's log.
    await request(image, "rebuild");
    expect(await store.images.find(image.id)).toMatchObject({
      status: "pending",
      build_logs: null,
    });
    expect(await store.builds.find(image.id)).toMatchObject({
      generation: 2,
      trigger: "rebuild",
      failure_reason: null,
      error: null,
    });
  });

  it("drops the result of a superseded build", async () => {
    const image = await newImage("upload");
    await request(image);
    await claimBuild(store, image.id, 1, reference);
    await request(image);
    const written = await finishBuild(store, image.id, 1, "app:latest", {
      ok: true,
      dockerImageId: "sha256:old",
      logs: "",
    });
    expect(written).toBe(false);
    expect(await store.images.find(image.id)).toMatchObject({
      status: "pending",
      docker_image_id: null,
    });
    expect(await claimBuild(store, image.id, 1, reference)).toBeUndefined();
    expect(await claimBuild(store, image.id, 2, reference)).toBeDefined();
  });

  it("never lets any image leave deleting, and leaves reference images to the controller", async () => {
    const upload = await newImage("upload");
    const registered = await newImage("reference");
    await staleStatusWrite(registered, "ready");
    expect(await statusOf(registered)).toBe("ready");
    await staleStatusWrite(registered, "pending");
    expect(await statusOf(registered)).toBe("pending");
    for (const image of [upload, registered]) {
      await staleStatusWrite(image, "deleting");
      await staleStatusWrite(image, "ready");
      expect(await statusOf(image)).toBe("deleting");
    }
    // A build finishing for an image being deleted writes nothing.
    await store.db
      .insertInto("image_builds")
      .values({ image_id: upload.id, generation: 1, trigger: "upload" })
      .execute();
    expect(
      await finishBuild(store, upload.id, 1, "app:latest", {
        ok: true,
        dockerImageId: "sha256:x",
        logs: "",
      }),
    ).toBe(false);
  });
});
