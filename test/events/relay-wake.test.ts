/**
 * What ends the relay's back-off: the broker's return ends a back-off after the broker failed,
 * and nothing but time ends one after the database failed (the relay's LISTEN coming back does
 * that for a real outage). On PGlite, with a sink that records what the relay asks of it: a
 * database failure right after a broker outage used to wait for the broker, which had just
 * come back, and the relay tried again every probe (every second) instead of backing off.
 */
import { describe, expect, it } from "vitest";
import type { EventSink, SinkMessage } from "../../src/events/event-sink.ts";
import { startRelay } from "../../src/events/relay.ts";
import type { Store } from "../../src/store/database.ts";
import { waitFor } from "../support/wait.ts";
import {
  allEvents,
  capturedLogger,
  containerEvent,
  openTestDatabase,
  writeEvents,
} from "./relay-support.ts";

describe("the relay's back-off", () => {
  it("waits for the broker only after the broker failed, never after the database did", async () => {
    const database = await openTestDatabase("pglite");
    let databaseFails = false;
    let claims = 0;
    const store: Store = {
      ...database.store,
      claimPublisher: ((pass: Parameters<Store["claimPublisher"]>[0]) => {
        claims += 1;
        return databaseFails
          ? Promise.reject(new Error("Connection terminated unexpectedly"))
          : database.store.claimPublisher(pass);
      }) as Store["claimPublisher"],
    };
    const published: SinkMessage[] = [];
    let waitsForBroker = 0;
    const sink: EventSink = {
      connect: async () => {},
      disconnect: async () => {},
      publish: async (messages) => {
        published.push(...messages);
        return { rejected: [] };
      },
      brokerReturns: () => {
        waitsForBroker += 1;
        // The broker is back at once: a relay that waited for it would try again at once.
        return Promise.resolve();
      },
    };
    const logs = capturedLogger();
    const relay = await startRelay({
      store,
      sink,
      logger: logs.logger,
      source: "orchestrator/relay-wake-test",
      pollIntervalMs: 60_000,
      busyRetryMs: 200,
      backoff: { initialMs: 600_000, maxMs: 600_000 },
    });
    try {
      await writeEvents(database.store, [containerEvent(1, 0)]);
      await waitFor(
        () => allEvents(database.store),
        (rows) => rows.every((row) => row.published_at !== null),
        { what: "the first event published" },
      );

      databaseFails = true;
      const before = claims;
      await writeEvents(database.store, [containerEvent(1, 1)]);
      // Logged as the back-off starts (what it waits for is asked for in the same turn).
      await waitFor(
        async () => logs.lines(),
        (lines) => lines.some((line) => line.msg.startsWith("event publishing failed")),
        { what: "the failed pass logged" },
      );
      expect(waitsForBroker).toBe(0);
      expect(claims).toBe(before + 1);

      // The database is back; the back-off has ten minutes to go.
      databaseFails = false;
      await writeEvents(database.store, [containerEvent(1, 2)]);
      await relay.flush({ timeoutMs: 30_000 });
      // flush ends the back-off (it is asked to): everything goes, still without the broker.
      expect(published).toHaveLength(3);
      expect(waitsForBroker).toBe(0);
    } finally {
      await relay.stop({ timeoutMs: 1_000 });
      await database.close();
    }
  });
});
