import { describe, expect, it } from "vitest";
import { restartDelayMs } from "../domain/crash-backoff.ts";
import type { InstanceRecord } from "../store/records.ts";
import { probeTransition } from "./probe-transition.ts";

const now = new Date("2026-01-01T00:00:00Z");
const record = (overrides: Partial<InstanceRecord> = {}) =>
  ({
    health: "unknown",
    probe_failures: 0,
    consecutive_failures: 0,
    ...overrides,
  }) as InstanceRecord;
const ok = { ok: true, at: now.toISOString(), kind: "http" as const, status_code: 200 };
const fail = { ok: false, at: now.toISOString(), kind: "http" as const, status_code: 500 };
const check = { retries: 3 };
const options = { inStartPeriod: false, now };

describe("probeTransition", () => {
  it("marks healthy on the first success, with one event", () => {
    expect(probeTransition(record(), ok, check, options)).toMatchObject({
      patch: { health: "healthy" },
      event: "container.healthy",
    });
    expect(
      probeTransition(record({ health: "healthy" }), ok, check, options).event,
    ).toBeUndefined();
  });

  it("turns unhealthy after `retries` failures in a row, once, with a back-off", () => {
    const first = probeTransition(record({ health: "healthy" }), fail, check, options);
    expect(first).toEqual({ patch: { last_probe: fail, probe_failures: 1 } });
    const third = probeTransition(
      record({ health: "healthy", probe_failures: 2, consecutive_failures: 1 }),
      fail,
      check,
      options,
    );
    expect(third.event).toBe("container.unhealthy");
    expect(third.patch).toMatchObject({
      health: "unhealthy",
      consecutive_failures: 2,
      next_restart_at: new Date(now.getTime() + restartDelayMs(2)),
      last_error: "health check failed 3 times: HTTP 500",
    });
    expect(
      probeTransition(record({ health: "unhealthy", probe_failures: 3 }), fail, check, options)
        .event,
    ).toBeUndefined();
  });

  it("ignores failures during the start period", () => {
    expect(
      probeTransition(record(), fail, check, { ...options, inStartPeriod: true }).patch,
    ).toEqual({ last_probe: fail });
  });

  it("trusts Docker's unhealthy verdict at once", () => {
    expect(
      probeTransition(record(), { ...fail, kind: "docker" }, check, {
        ...options,
        dockerVerdict: true,
      }).event,
    ).toBe("container.unhealthy");
  });
});
