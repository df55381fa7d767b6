import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/store/database.ts";
import { readMigrations } from "../../src/store/migrate.ts";
import { createScratchDatabase } from "../support/databases.ts";
import { backends } from "../support/services.ts";
import { allEvents, containerEvent, openTestDatabase, writeEvents } from "./relay-support.ts";

/** The outbox's bookkeeping (sql/0024): when each event was published, as the service reads it. */
describe.each(backends())("events published, on %s", (backend) => {
  const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second));
  const runsOf = async (store: Store) =>
    (
      await store.db
        .selectFrom("events_published")
        .select(["first_seq", "last_seq"])
        .orderBy("first_seq")
        .execute()
    ).map((run) => [Number(run.first_seq), Number(run.last_seq)]);

  it("reads the pending head leaving out the batch in flight, a run of seqs or any list", async () => {
    const database = await openTestDatabase(backend);
    const { store } = database;
    try {
      await writeEvents(
        store,
        [1, 2, 3, 4, 5, 6, 7].map((step) => containerEvent(3, step)),
      );
      const seqs = (await allEvents(store)).map((row) => row.seq);
      const [s1, s2, s3, s4, s5, s6, s7] = seqs as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const pending = async (limit: number, inFlight?: number[]) =>
        (await store.events.selectPending(limit, inFlight)).map((event) => event.seq);
      expect(await pending(3)).toEqual([s1, s2, s3]);
      // A run in flight: what is below it (a late commit) and above it.
      expect(await pending(3, [s2, s3, s4])).toEqual([s1, s5, s6]);
      expect(await pending(10, [s1, s2, s3])).toEqual([s4, s5, s6, s7]);
      // Not a run: left out one by one.
      expect(await pending(3, [s1, s3])).toEqual([s2, s4, s5]);
      expect(await pending(10, [s2, s4, s5, s7])).toEqual([s1, s3, s6]);
      const rows = await store.events.selectPending(1, [s1]);
      expect(rows).toEqual([
        expect.objectContaining({ seq: s2, type: "container.started", image_id: 3 }),
      ]);
      expect(JSON.parse(rows[0]?.dataJson ?? "null")).toMatchObject({ image_id: 3 });
    } finally {
      await database.close();
    }
  });

  it("reads each event as published when its mark said, pending or failed otherwise", async () => {
    const database = await openTestDatabase(backend);
    const { store } = database;
    try {
      await writeEvents(
        store,
        [1, 2, 3, 4, 5, 6].map((step) => containerEvent(3, step)),
      );
      const seqs = (await allEvents(store)).map((row) => row.seq);
      const [s1, s2, s3, s4, s5, s6] = seqs as [number, number, number, number, number, number];
      await store.events.markPublished([s1, s2], at(1));
      await store.events.markPublished([s4], at(2));
      await store.events.recordAttempt([s5], "LEADER_NOT_AVAILABLE: no leader");
      await store.events.markPublished([s5], at(3));
      await store.events.markFailed(s6, "MESSAGE_TOO_LARGE: too large", at(4));

      const rows = await allEvents(store);
      expect(
        rows.map((row) => [
          row.published_at?.getTime() ?? null,
          row.failed_at !== null,
          row.publish_attempts,
          row.publish_error,
        ]),
      ).toEqual([
        [at(1).getTime(), false, 1, null],
        [at(1).getTime(), false, 1, null],
        [null, false, 0, null],
        [at(2).getTime(), false, 1, null],
        // The retriable failure was counted; once published, its error is gone.
        [at(3).getTime(), false, 2, null],
        [null, true, 1, "MESSAGE_TOO_LARGE: too large"],
      ]);
      expect(await store.events.countPendingUpTo(s6)).toBe(1);
      expect((await store.events.backlog()).count).toBe(1);
      // A run per mark of consecutive seqs: a gap (s3, pending) splits a mark into runs.
      expect(await runsOf(store)).toEqual([
        [s1, s2],
        [s4, s4],
        [s5, s5],
      ]);

      // Marked again, as a second relay that lost its claim would: only the row still queued
      // (s3) takes the new time; the others keep theirs.
      await store.events.markPublished([s1, s2, s3, s4], at(9));
      expect((await allEvents(store)).map((row) => row.published_at?.getTime() ?? null)).toEqual([
        at(1).getTime(),
        at(1).getTime(),
        at(9).getTime(),
        at(2).getTime(),
        at(3).getTime(),
        null,
      ]);
      expect((await allEvents(store)).map((row) => row.publish_attempts)).toEqual([
        1, 1, 1, 1, 2, 1,
      ]);
      expect(await store.events.countPendingUpTo(s6)).toBe(0);

      // Pruning every published event leaves the failed one, a new pending one, and no run.
      await writeEvents(store, [containerEvent(3, 7)]);
      expect(await store.events.prunePublished(new Date(Date.now() + 86_400_000))).toBe(5);
      const left = await allEvents(store);
      expect(left.map((row) => [row.seq === s6, row.failed_at !== null])).toEqual([
        [true, true],
        [false, false],
      ]);
      expect(await runsOf(store)).toEqual([]);
      expect(await store.events.countPendingUpTo(left[1]!.seq)).toBe(1);
    } finally {
      await database.close();
    }
  });

  it("keeps the publication of events marked before the migration", async () => {
    const all = await readMigrations();
    const before = all.filter((migration) => migration.name < "0024");
    let reopen: (migrations: typeof all) => Promise<Store>;
    let cleanup: () => Promise<void>;
    if (backend === "pglite") {
      const folder = await mkdtemp(path.join(tmpdir(), "events-published-"));
      reopen = (migrations) =>
        openStore(
          { kind: "pglite", dataDir: path.join(folder, "pglite"), templateDirectory: null },
          { migrations },
        );
      cleanup = () => rm(folder, { recursive: true, force: true });
    } else {
      const scratch = await createScratchDatabase();
      reopen = (migrations) => openStore({ kind: "postgres", url: scratch.url }, { migrations });
      cleanup = () => scratch.drop();
    }
    try {
      const old = await reopen(before);
      let seqs: number[];
      try {
        await writeEvents(
          old,
          [1, 2, 3, 4, 5, 6].map((step) => containerEvent(4, step)),
        );
        seqs = (await old.db.selectFrom("events").select("seq").orderBy("seq").execute()).map(
          (row) => Number(row.seq),
        );
        // As the relay marked them then: 1-2 together, 4 alone, 5 after a retry; 3 pending, 6 failed.
        const mark = async (picked: number[], time: Date, attempts: number) => {
          await sql`delete from events_pending where seq = any(${`{${picked.join(",")}}`}::bigint[])`.execute(
            old.db,
          );
          await sql`update events set published_at = ${time}, publish_attempts = ${attempts}
            where seq = any(${`{${picked.join(",")}}`}::bigint[])`.execute(old.db);
        };
        await mark([seqs[0]!, seqs[1]!], at(1), 1);
        await mark([seqs[3]!], at(2), 1);
        await mark([seqs[4]!], at(3), 2);
        await old.events.markFailed(seqs[5]!, "MESSAGE_TOO_LARGE: too large", at(4));
      } finally {
        await old.close();
      }
      const store = await reopen(all);
      try {
        expect(
          (await allEvents(store)).map((row) => [
            row.published_at?.getTime() ?? null,
            row.publish_attempts,
          ]),
        ).toEqual([
          [at(1).getTime(), 1],
          [at(1).getTime(), 1],
          [null, 0],
          [at(2).getTime(), 1],
          [at(3).getTime(), 2],
          [null, 1],
        ]);
        expect(await store.events.countPendingUpTo(seqs[5]!)).toBe(1);
      } finally {
        await store.close();
      }
    } finally {
      await cleanup();
    }
  });
});
