/**
 * Group commit of scaling writes (desired/write-batches.ts, store/shared-transaction.ts): PATCHes
 * that set only instance counts, arriving together, share a transaction. Each must still be
 * answered, recorded (event, audit) and quota-checked exactly as if it had run alone; a tenant's
 * refused write changes nothing of another's; a write stuck behind someone else's lock does not
 * hold up the writes beside it. On both backends (the store is watched, not replaced: the test
 * counts the shared transactions it runs, and their statements); what needs another session
 * holding a lock, on a Postgres server.
 */
import { sql } from "kysely";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { createImageService } from "../../src/desired/image-service.ts";
import { createImage } from "../../src/desired/image-writes.ts";
import type { Actor } from "../../src/domain/actor.ts";
import { newImageSchema } from "../../src/domain/image-spec.ts";
import { openStore, type Store, withQueryPlugin } from "../../src/store/database.ts";
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
  // Counts the statements the service runs: each result passes the store's plugins once.
  let statements = 0;
  store = withQueryPlugin(store, {
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      statements += 1;
      return args.result;
    },
  });
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
  return { store: watched, url, shared, rolledBack, statements: () => statements };
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

  it("sends each step its writes take together as one statement", async () => {
    const { alice, service, shared, rolledBack, desired, scaledEvents, audited, statements } =
      await setUp(backend);
    const images = [];
    for (let index = 0; index < 7; index++) images.push(await alice.create(`step-${index}`));

    const before = statements();
    const answers = await Promise.all(
      images.map((image) => service.patch(alice.scope, image.id, { desired_instances: 1 })),
    );

    // The first went at once, alone; the six that came meanwhile went together.
    expect(shared).toEqual([1, 6]);
    expect(rolledBack).toEqual([]);
    // Each group: its lock timeout (a server's: on PGlite nobody else holds a lock), then one
    // statement per step (row and quota locks, UPDATE, events and audit, quota usage),
    // whatever its size. BEGIN and COMMIT are not counted.
    expect(statements() - before).toBe(2 * (backend === "postgres" ? 5 : 4));
    expect(answers.map(({ image }) => image.desired_instances)).toEqual(Array(7).fill(1));
    for (const image of images) {
      expect(await desired(image)).toBe(1);
      expect((await scaledEvents(image)).map((row) => row.data)).toMatchObject([
        { previous_desired_instances: 0, desired_instances: 1 },
      ]);
      expect(await audited(image)).toBe(1);
    }
  });

  it("answers each write with its row as written, without waiting for the UPDATE to know it", async () => {
    const { store, alice, service, shared, rolledBack } = await setUp(backend);
    const images = [];
    for (let index = 0; index < 4; index++) images.push(await alice.create(`known-${index}`));

    const answers = await Promise.all(
      images.map((image) => service.patch(alice.scope, image.id, { desired_instances: 1 })),
    );

    expect(shared).toEqual([1, 3]);
    expect(rolledBack).toEqual([]);
    for (const [index, image] of images.entries()) {
      expect(answers[index]?.image).toEqual(await store.images.find(image.id));
    }
  });

  // From now on a count write also sets a column of its own: one the UPDATE writes (updated_at
  // from the statement's clock, not the transaction's start that the lock statement read), or
  // one it does not.
  it.each([
    ["updated_at", "new.updated_at := clock_timestamp()"],
    ["conditions", `new.conditions := '[{"type": "Touched"}]'::jsonb`],
  ])(
    "runs a group again alone when an UPDATE gives a row other than the one its lock foretold (%s)",
    async (_, change) => {
      const { store, alice, service, shared, rolledBack, scaledEvents, audited } =
        await setUp(backend);
      const images = [];
      for (let index = 0; index < 4; index++) images.push(await alice.create(`foretold-${index}`));
      await sql`create function test_touch() returns trigger language plpgsql as $$
      begin ${sql.raw(change)}; return new; end $$`.execute(store.db);
      await sql`create trigger test_touch before update of desired_instances on images
      for each row execute function test_touch()`.execute(store.db);

      const answers = await Promise.all(
        images.map((image) => service.patch(alice.scope, image.id, { desired_instances: 1 })),
      );

      // Both groups were rolled back, and each write ran again alone, answered with its row.
      expect(shared).toEqual([1, 3]);
      expect(rolledBack).toEqual([1, 3]);
      for (const [index, image] of images.entries()) {
        const row = await store.images.find(image.id);
        expect(row?.desired_instances).toBe(1);
        expect(answers[index]?.image).toEqual(row);
        expect((await scaledEvents(image)).map((event) => event.data)).toMatchObject([
          { previous_desired_instances: 0, desired_instances: 1 },
        ]);
        expect(await audited(image)).toBe(1);
      }
    },
  );

  it("answers a write to an id past the largest safe integer 404, beside writes that go on", async () => {
    const { alice, bob, service, desired } = await setUp(backend);
    const images = [];
    for (let index = 0; index < 3; index++) images.push(await alice.create(`safe-${index}`));

    // All in one tick: Bob's write shares the second group with two of Alice's.
    const results = await Promise.allSettled([
      ...images.map((image) => service.patch(alice.scope, image.id, { desired_instances: 1 })),
      service.patch(bob.scope, 1e16, { desired_instances: 1 }),
    ]);

    expect(results.map(codeOf)).toEqual(["ok", "ok", "ok", "not_found"]);
    for (const image of images) expect(await desired(image)).toBe(1);
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

  it("does not let a tenant's writes to another's image id hold that image's writes back", async () => {
    const { alice, bob, service, shared, rolledBack, desired, scaledEvents } = await setUp(backend);
    const bobs = await bob.create("target");
    const blocker = await alice.create("first");
    const first = service.patch(alice.scope, blocker.id, { desired_instances: 1 });
    // Alice's flood of bob's id, then bob's own write, all while the first group runs.
    const flood = Array.from({ length: 5 }, () =>
      service.patch(alice.scope, bobs.id, { desired_instances: 9 }),
    );
    const own = service.patch(bob.scope, bobs.id, { desired_instances: 2 });
    const results = await Promise.allSettled([first, ...flood, own]);
    expect(results.map(codeOf)).toEqual(["ok", ...Array(5).fill("not_found"), "ok"]);
    // Alice's are keyed by her and the id: one of hers a group, and bob's in the next group
    // beside the first of them, not behind all five.
    expect(shared).toEqual([1, 2, 1, 1, 1, 1]);
    expect(rolledBack).toEqual([]);
    expect(await desired(bobs)).toBe(2);
    expect((await scaledEvents(bobs)).map((row) => row.data)).toMatchObject([
      { previous_desired_instances: 0, desired_instances: 2 },
    ]);
  });
});

describe.runIf(backends().includes("postgres"))("shared transactions on a Postgres server", () => {
  /** Holds what `take` locks, on a connection of its own, until `release` is called. */
  async function holdElsewhere(
    url: string,
    take: (tx: postgres.TransactionSql) => Promise<unknown>,
  ) {
    const other = postgres(url, { max: 1, onnotice: () => {} });
    cleanups.push(() => other.end());
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let taken = () => {};
    const held = new Promise<void>((resolve) => {
      taken = resolve;
    });
    const holding = other.begin(async (tx) => {
      await take(tx);
      taken();
      await released;
    });
    await held;
    return async () => {
      release();
      await holding;
    };
  }

  /** A promise, and whether it has settled yet. */
  const watch = <T>(promise: Promise<T>) => {
    const watched = { promise, settled: false };
    void promise
      .finally(() => {
        watched.settled = true;
      })
      .catch(() => {});
    return watched;
  };

  it("send a write whose row is locked elsewhere on alone, at once: the writes beside it go on", async () => {
    const { alice, service, url, shared, rolledBack, desired } = await setUp("postgres");
    const [held, free1, free2] = [
      await alice.create("held"),
      await alice.create("free-1"),
      await alice.create("free-2"),
    ];
    const release = await holdElsewhere(
      url as string,
      (tx) => tx`select id from images where id = ${held.id} for update`,
    );
    const heldWrite = watch(service.patch(alice.scope, held.id, { desired_instances: 1 }));
    const others = [free1, free2].map((image) =>
      service.patch(alice.scope, image.id, { desired_instances: 1 }),
    );
    // Answered while the lock is still held: they did not wait behind the held image.
    await expect(Promise.all(others)).resolves.toHaveLength(2);
    expect(heldWrite.settled).toBe(false);
    expect(shared).toEqual([1, 2]);
    expect(rolledBack).toEqual([]);

    await release();
    await expect(heldWrite.promise).resolves.toMatchObject({ image: { desired_instances: 1 } });
    for (const image of [held, free1, free2]) expect(await desired(image)).toBe(1);
  });

  it("send a tenant's writes on alone while its quota lock is held elsewhere (a long apply): other tenants' go on", async () => {
    const { alice, bob, service, url, shared, rolledBack, desired } = await setUp("postgres");
    const alices = await alice.create("alices");
    const bobs = [await bob.create("bobs-1"), await bob.create("bobs-2")];
    // What an apply of alice's holds from its first growing image until it commits.
    const release = await holdElsewhere(
      url as string,
      (tx) => tx`select pg_advisory_xact_lock(724603, ${alice.id}::int)`,
    );
    const alicesWrite = watch(service.patch(alice.scope, alices.id, { desired_instances: 1 }));
    const bobsWrites = bobs.map((image) =>
      service.patch(bob.scope, image.id, { desired_instances: 1 }),
    );
    await expect(Promise.all(bobsWrites)).resolves.toHaveLength(2);
    expect(alicesWrite.settled).toBe(false);
    // Alice's left her group before writing: it was not rolled back, it went on without her.
    expect(shared).toEqual([1, 2]);
    expect(rolledBack).toEqual([]);
    await release();
    await expect(alicesWrite.promise).resolves.toMatchObject({ image: { desired_instances: 1 } });
    for (const image of [alices, ...bobs]) expect(await desired(image)).toBe(1);
  });

  it("answer a tenant's write to another's image 404 without locking it or waiting for it", async () => {
    const { alice, bob, service, url } = await setUp("postgres");
    const bobs = await bob.create("locked-by-bob");
    const release = await holdElsewhere(
      url as string,
      (tx) => tx`select id from images where id = ${bobs.id} for update`,
    );
    // Neither kind of write waits for bob's lock: a scaling one, nor one that goes alone.
    for (const patch of [{ desired_instances: 3 }, { cpu_limit: "0.5" }]) {
      await expect(service.patch(alice.scope, bobs.id, patch)).rejects.toMatchObject({
        code: "not_found",
      });
    }
    await release();
  });

  it("give up on any other lock after the lock timeout: rolled back, each write then runs alone", async () => {
    const { alice, service, url, shared, rolledBack, desired } = await setUp("postgres");
    const [waiting, free1, free2] = [
      await alice.create("events-held"),
      await alice.create("free-1"),
      await alice.create("free-2"),
    ];
    // The image's event lock (events-repository.ts), as a controller pass appending its events
    // holds it.
    const release = await holdElsewhere(
      url as string,
      (tx) => tx`select pg_advisory_xact_lock(724602, ${waiting.id}::int)`,
    );
    const blocked = watch(service.patch(alice.scope, waiting.id, { desired_instances: 1 }));
    const others = [free1, free2].map((image) =>
      service.patch(alice.scope, image.id, { desired_instances: 1 }),
    );
    await expect(Promise.all(others)).resolves.toHaveLength(2);
    expect(blocked.settled).toBe(false);
    // The first went alone in a group, which gave up on the event lock; the others' group had
    // waited for that turn only.
    expect(shared).toEqual([1, 2]);
    expect(rolledBack).toEqual([1]);
    await release();
    await expect(blocked.promise).resolves.toMatchObject({ image: { desired_instances: 1 } });
    for (const image of [waiting, free1, free2]) expect(await desired(image)).toBe(1);
  });
});
