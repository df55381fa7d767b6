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

    // 12 s later: at most one more restart (the back-off after the second failure is 10 s).
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const later = (await server.request("GET", `/api/containers/${instance.id}`)).body;
    expect(later.restart_count - instance.restart_count).toBeLessThanOrEqual(1);
    expect(later.consecutive_failures).toBeLessThanOrEqual(instance.consecutive_failures + 1);

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
