import { describe, expect, it } from "vitest";
import { leaderSessionSettings } from "./postgres-leader-lock.ts";

describe("the leader session's connection settings", () => {
  const settings = leaderSessionSettings(5_000);

  it("never recycles the session that holds the lock", () => {
    // postgres.js ends a connection after 30–60 min by default (max_lifetime), and after
    // idle_timeout when one is set: either would drop the lock and depose a healthy leader.
    expect(settings.max_lifetime).toBeNull();
    expect(settings).not.toHaveProperty("idle_timeout");
    expect(settings.max).toBe(1);
  });

  it("bounds every statement on the server and detects a silent peer on both ends", () => {
    expect(settings.connection.statement_timeout).toBe(5_000);
    expect(settings.keep_alive).toBeGreaterThan(0);
    expect(settings.connection).toMatchObject({
      tcp_keepalives_idle: 10,
      tcp_keepalives_interval: 5,
      tcp_keepalives_count: 3,
    });
  });
});
