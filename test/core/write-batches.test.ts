/**
 * Group commit of scaling writes (desired/write-batches.ts, store/shared-transaction.ts): PATCHes
 * that set only instance counts, arriving together, share a transaction. Each must still be
 * answered, recorded (event, audit) and quota-checked exactly as if it had run alone; a tenant's
 * refused write changes nothing of another's; a write stuck behind someone else's lock does not
 * hold up the writes beside it. On both backends, on the real databases (the store is watched,
 * not replaced: the test counts the shared transactions it runs).
 */
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { createImageService } from "../../src/desired/image-service.ts";
import { createImage } from "../../src/desired/image-writes.ts";
import type { Actor } from "../../src/domain/actor.ts";
import { newImageSchema } from "../../src/domain/image-spec.ts";
import { openStore, type Store } from "../../src/store/database.ts";
import type { ImageRecord } from "../../src/store/records.ts";
import { SharedTransactionRolledBack } from "../../src/store/shared-transaction.ts";
import { createScratchDatabase } from "../support/databases.ts";
import { type Backend, backends } from "../support/services.ts";

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A fresh store, and what its shared transactions were: their sizes, and those rolled back. */
async function watchedStore(backend: Backend) {
  let url: string | undefined;
  let store: Store;
  if (backend === "pglite") {
    store = await openStore({ kind: "pglite", dataDir: undefined });
  } else {
    const database = await createScratchDatabase();
    cleanups.push(database.drop);
    url = database.url;
    store = await openStore({ kind: "postgres", url });
  }
  cleanups.push(() => store.close());
  const shared: number[] = [];
  const rolledBack: number[] = [];
  const watched: Store = {
    ...store,
    sharedTransaction: async (works, lockTimeoutMs) => {
      shared.push(works.length);
      try {
        return await store.sharedTransaction(works, lockTimeoutMs);
      } catch (error) {
        if (error instanceof SharedTransactionRolledBack) rolledBack.push(works.length);
        throw error;
      }
    },
  };
  return { store: watched, url, shared, rolledBack };
}

const actorOf = (userId: number, name: string): Actor => ({
  userId,
  name,
  tokenId: null,
  tokenName: null,
});

async function setUp(backend: Backend, instancesQuota = 100) {
  const watched = await watchedStore(backend);
  const { store } = watched;
  const alice = await store.users.create("alice");
  const bob = await store.users.create("bob");
  const settings = {
    builtImagePrefix: "test",
    adminUserId: 0,
    quota: {
      defaults: { ...loadConfig({}).quota, instances: instancesQuota },
      unlimitedUsers: new Set<number>(),
    },
  };
  const service = createImageService(store, {
    ...settings,
    maxInstancesCap: 100,
    orchestratorId: "batches",
  });
  const createOf = (userId: number) => (name: string) =>
    store.transaction((tx) =>
      createImage(
        tx,
        {
          userId,
          input: {
            ...newImageSchema(100).parse({ name, max_instances: 10, desired_instances: 0 }),
            source_type: "upload",
          },
          status: "pending",
          actor: actorOf(userId, "test"),
        },
        settings,
      ),
    );
  const scope = (user: { id: number; name: string }) => ({
    userId: user.id,
    actor: actorOf(user.id, user.name),
  });
  const desired = async (image: ImageRecord) =>
    (await store.images.find(image.id))?.desired_instances;
  const scaledEvents = (image: ImageRecord) =>
    store.db
      .selectFrom("events")
      .select("data")
      .where("image_id", "=", image.id)
      .where("type", "=", "image.scaled")
      .orderBy("seq")
      .execute();
  const audited = async (image: ImageRecord) =>
    (
      await store.db
        .selectFrom("audit_log")
        .select("action")
        .where("image_id", "=", image.id)
        .where("action", "=", "image.update")
        .execute()
    ).length;
  return {
    ...watched,
    alice: { ...alice, create: createOf(alice.id), scope: scope(alice) },
    bob: { ...bob, create: createOf(bob.id), scope: scope(bob) },
    service,
    desired,
    scaledEvents,
    audited,
  };
}

const codeOf = (result: PromiseSettledResult<unknown>) =>
  result.status === "rejected" ? (result.reason as { code?: string }).code : "ok";

describe.each(backends())("scaling writes in shared transactions on %s", (backend) => {
  it("answers and records each write of a shared transaction as if it had run alone", async () => {
    const { alice, bob, service, shared, rolledBack, desired, scaledEvents, audited } =
      await setUp(backend);
    const images = [];
    for (let index = 0; index < 7; index++) images.push(await alice.create(`web-${index}`));
    const [first, second, foreign] = images as [ImageRecord, ImageRecord, ImageRecord];
    const stale = images[6] as ImageRecord;
    const bobs = await bob.create("bobs");

    // All in one tick: the first starts at once, the rest go together when it ends.
    const scaled = images
      .slice(0, 6)
      .map((image) => service.patch(alice.scope, image.id, { desired_instances: 2 }));
    const again = service.patch(alice.scope, first.id, { desired_instances: 3 });
    const staleWrite = service.patch(alice.scope, stale.id, {
      desired_instances: 1,
      resource_version: stale.resource_version + 5,
    });
    const bobIntoAlice = service.patch(bob.scope, foreign.id, { desired_instances: 9 });
    const aliceIntoBob = service.patch(alice.scope, bobs.id, { desired_instances: 9 });
    const results = await Promise.allSettled([
      ...scaled,
      again,
      staleWrite,
      bobIntoAlice,
      aliceIntoBob,
    ]);

    expect(results.map(codeOf)).toEqual([
      ...Array(7).fill("ok"),
      "stale_resource_version",
      "not_found",
      "not_found",
    ]);
    // Several writes shared a transaction, and the refusals (decided on what they read) did not
    // undo it.
    expect(Math.max(...shared)).toBeGreaterThanOrEqual(5);
    expect(rolledBack).toEqual([]);

    // Each answer is the image as its own write left it.
    const answers = (await Promise.all([...scaled, again])).map((answer) => answer.image);
    expect(answers.map((image) => image.desired_instances)).toEqual([2, 2, 2, 2, 2, 2, 3]);
    expect(answers[6]?.resource_version).toBe(first.resource_version + 2);
    expect(answers[1]?.resource_version).toBe(second.resource_version + 1);

    expect(await desired(first)).toBe(3);
    for (const image of images.slice(1, 6)) expect(await desired(image)).toBe(2);
    expect(await desired(stale)).toBe(0);
    expect(await desired(bobs)).toBe(0);

    // One event and one audit record per write that changed something, in order.
    expect((await scaledEvents(first)).map((row) => row.data)).toMatchObject([
      { previous_desired_instances: 0, desired_instances: 2 },
      { previous_desired_instances: 2, desired_instances: 3 },
    ]);
    expect(await audited(first)).toBe(2);
    for (const image of images.slice(1, 6)) {
      expect((await scaledEvents(image)).map((row) => row.data)).toMatchObject([
        { previous_desired_instances: 0, desired_instances: 2 },
      ]);
      expect(await audited(image)).toBe(1);
    }
    expect(await scaledEvents(stale)).toEqual([]);
    expect(await audited(stale)).toBe(0);
    expect(await scaledEvents(bobs)).toEqual([]);
    expect(await audited(bobs)).toBe(0);
  });

  it("never lets racing scaling writes overshoot a quota together", async () => {
    const { alice, service, shared, rolledBack, desired, scaledEvents } = await setUp(backend, 4);
    const images = [];
    for (let index = 0; index < 6; index++) images.push(await alice.create(`quota-${index}`));

    const results = await Promise.allSettled(
      images.map((image) => service.patch(alice.scope, image.id, { desired_instances: 1 })),
    );

    const codes = results.map(codeOf);
    expect(codes.filter((code) => code === "ok")).toHaveLength(4);
    expect(codes.filter((code) => code === "quota_exceeded")).toHaveLength(2);
    let total = 0;
    let events = 0;
    for (const image of images) {
      total += (await desired(image)) ?? 0;
      events += (await scaledEvents(image)).length;
    }
    expect(total).toBe(4);
    expect(events).toBe(4);
    // The five that went together asked for more than the quota: their transaction was rolled
    // back, and each ran again alone.
    expect(shared).toEqual([1, 5]);
    expect(rolledBack).toEqual([5]);
  });
});

describe.runIf(backends().includes("postgres"))("shared transactions on a Postgres server", () => {
  it("give up on a lock held elsewhere after the lock timeout: the writes after go on", async () => {
    const { alice, service, url, rolledBack, desired } = await setUp("postgres");
    const [held, free1, free2] = [
      await alice.create("held"),
      await alice.create("free-1"),
      await alice.create("free-2"),
    ];
    const other = postgres(url as string, { max: 1, onnotice: () => {} });
    cleanups.push(() => other.end());
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = () => {};
    const lockTaken = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holding = other.begin(async (tx) => {
      await tx`select id from images where id = ${held.id} for update`;
      locked();
      await released;
    });
    await lockTaken;

    let heldAnswered = false;
    const heldWrite = service.patch(alice.scope, held.id, { desired_instances: 1 }).finally(() => {
      heldAnswered = true;
    });
    const others = [free1, free2].map((image) =>
      service.patch(alice.scope, image.id, { desired_instances: 1 }),
    );
    // Answered while the lock is still held: they did not wait behind the held image.
    await expect(Promise.all(others)).resolves.toHaveLength(2);
    expect(heldAnswered).toBe(false);
    expect(rolledBack).toContain(1);

    release();
    await holding;
    await expect(heldWrite).resolves.toMatchObject({ image: { desired_instances: 1 } });
    expect(await desired(held)).toBe(1);
    expect(await desired(free1)).toBe(1);
    expect(await desired(free2)).toBe(1);
  });
});
