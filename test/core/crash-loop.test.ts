import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe("a container that keeps dying", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it("goes to crash_loop with a growing back-off, never a tight loop, and degrades the image", async () => {
    const created = await server.request("POST", "/api/images", {
      body: { name: "crasher", image: testImages.crasher, desired_instances: 1 },
    });
    const imageId = created.body.id;
    const [instance] = await waitFor(
      async () =>
        (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[],
      (items) => items[0]?.observed_state === "crash_loop",
      { what: "crash_loop" },
    );
    expect(instance.last_exit_code).toBe(3);
    expect(instance.last_error).toBe("exited with code 3");
    expect(instance.consecutive_failures).toBeGreaterThanOrEqual(2);
    expect(Date.parse(instance.next_restart_at)).toBeGreaterThan(Date.now());

    // The back-off grows and is kept: each restart waits at least its delay (10 s after the
    // second failure, 20 s after the third), measured between the failures Docker recorded.
    const failures = await waitFor(
      async () =>
        (
          await server.request(
            "GET",
            `/api/events?instance_id=${instance.id}&type=container.failed&limit=10`,
          )
        ).body.items as any[],
      (items) => items.length >= 3,
      { timeoutMs: 90_000, what: "a third failure" },
    );
    const stoppedAt = failures.map((event) => Date.parse(event.data.stopped_at));
    const startedAt = failures.map((event) => Date.parse(event.data.started_at));
    const secondWait = (startedAt[2] ?? 0) - (stoppedAt[1] ?? 0);
    const firstWait = (startedAt[1] ?? 0) - (stoppedAt[0] ?? 0);
    expect(secondWait, "restart after the second failure: 10 s or more").toBeGreaterThanOrEqual(
      10_000,
    );
    expect(secondWait).toBeGreaterThan(firstWait);
    const later = (await server.request("GET", `/api/containers/${instance.id}`)).body;
    expect(later.consecutive_failures).toBeGreaterThanOrEqual(3);
    const pinned: Record<number, number> = { 3: 20_000, 4: 40_000, 5: 80_000, 6: 160_000 };
    expect(Date.parse(later.next_restart_at) - Date.parse(later.stopped_at)).toBe(
      pinned[later.consecutive_failures],
    );

    const image = (await server.request("GET", `/api/images/${imageId}`)).body;
    const degraded = image.conditions.find((condition: any) => condition.type === "Degraded");
    expect(degraded).toMatchObject({ status: "True", reason: "CrashLoopBackOff" });
    expect(degraded.message).toContain("exited with code 3");
    const failed = (
      await server.request("GET", `/api/events?instance_id=${instance.id}&type=container.failed`)
    ).body.items;
    expect(failed.length).toBeGreaterThanOrEqual(2);
    expect(failed[0].data).toMatchObject({ exit_code: 3, reason: "crashed" });
    expect(failed[0].data.stopped_at).not.toBeNull();
  });
});
