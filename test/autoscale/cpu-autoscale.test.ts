/**
 * The autoscaler on the real engine: CPU load made on 127.0.0.1 (one 4-second burn in flight
 * per running instance, at most 150 requests, only while the test waits for the scale-up)
 * drives an image from 1 to 3 instances, and back to 1 once the load stops and the short
 * stabilization window has passed; each move is an `image.scaled` event with the metric, the
 * value and the reason. Every wait is a condition with a generous timeout: no timing is
 * asserted, so a loaded machine only makes it slower.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

const autoscale = {
  metric: "cpu",
  target: 50,
  scale_up_step: "100%",
  scale_down_stabilization: "10s",
};

/** Keeps one burn request in flight per running instance until stopped; bounded in count. */
function startLoad(server: TestServer, imageId: number, maxRequests = 150) {
  const inFlight = new Map<number, Promise<void>>();
  let sent = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped && sent < maxRequests) {
      const listed = await server.request("GET", `/api/images/${imageId}/containers`);
      for (const instance of listed.body.items ?? []) {
        const port = instance.host_port;
        if (instance.observed_state !== "running" || typeof port !== "number") continue;
        if (inFlight.has(port) || sent >= maxRequests || stopped) continue;
        sent += 1;
        const request = fetch(`http://127.0.0.1:${port}/cgi-bin/burn`, {
          signal: AbortSignal.timeout(30_000),
        })
          .then((response) => response.text())
          .then(
            () => undefined,
            () => undefined,
          )
          .finally(() => inFlight.delete(port));
        inFlight.set(port, request);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  return {
    sent: () => sent,
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(inFlight.values());
    },
  };
}

describe.each(backends())("the autoscaler on %s", (backend) => {
  let server: TestServer;
  let imageId: number;

  beforeAll(async () => {
    server = await startTestServer({
      backend,
      env: { HEALTH_INTERVAL_SECONDS: "1", AUTOSCALE_INTERVAL_SECONDS: "1" },
    });
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "burner",
        image: testImages.burner,
        min_instances: 1,
        max_instances: 3,
        desired_instances: 1,
        cpu_limit: "0.1",
        memory_limit: "32m",
        autoscale,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    imageId = created.body.id;
    await waitFor(
      async () => (await server.request("GET", `/api/images/${imageId}/containers`)).body.items,
      (items: any[]) => items.filter((item) => item.observed_state === "running").length === 1,
      { what: "one running instance", timeoutMs: 60_000 },
    );
  });

  afterAll(async () => {
    if (server !== undefined && imageId !== undefined) {
      await server.request("DELETE", `/api/images/${imageId}`);
      await waitFor(
        async () => (await server.request("GET", `/api/images/${imageId}`)).status,
        (status) => status === 404,
        { what: "the image gone", timeoutMs: 60_000 },
      ).catch(() => undefined);
    }
    await server?.stop();
  });

  it("refuses manual counts while it owns desired_instances, naming the autoscaler", async () => {
    const patched = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { desired_instances: 2 },
    });
    expect(patched.status).toBe(409);
    expect(patched.headers.get("content-type")).toContain("application/problem+json");
    expect(patched.body).toMatchObject({
      code: "autoscaler_owns_desired_instances",
      owner: "autoscaler",
    });
    expect(patched.body.detail).toContain("autoscale");
    const added = await server.request("POST", `/api/containers/${imageId}`, {
      body: { count: 1 },
    });
    expect(added.status).toBe(409);
    expect(added.body.code).toBe("autoscaler_owns_desired_instances");

    // An apply of a file that leaves the count out changes nothing; one that sets another fails.
    const document = {
      name: "burner",
      image: testImages.burner,
      min_instances: 1,
      max_instances: 3,
      cpu_limit: "0.1",
      memory_limit: "32m",
      autoscale,
    };
    const unchanged = await server.request("POST", "/api/apply", {
      body: { set: "autoscale-test", documents: [document] },
    });
    expect(unchanged.status, JSON.stringify(unchanged.body)).toBe(200);
    expect(unchanged.body.items[0]).toMatchObject({ action: "unchanged" });
    const refused = await server.request("POST", "/api/apply", {
      body: { set: "autoscale-test", documents: [{ ...document, desired_instances: 3 }] },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("autoscaler_owns_desired_instances");
    expect(refused.body.errors).toEqual([
      { path: "documents[0].desired_instances", message: "set by the autoscaler" },
    ]);
    // The plan (orchestrator diff) says so too, rather than showing a change apply refuses.
    const planned = await server.request("POST", "/api/apply?dry_run=1", {
      body: { set: "autoscale-test", documents: [{ ...document, desired_instances: 3 }] },
    });
    expect(planned.status).toBe(409);
    expect(planned.body.code).toBe("autoscaler_owns_desired_instances");
    const image = (await server.request("GET", `/api/images/${imageId}`)).body;
    expect(image.desired_instances).toBe(1);
  });

  it("scales 1 → 3 under CPU load and back to 1 after the window, each move an event", async () => {
    const load = startLoad(server, imageId);
    try {
      await waitFor(
        async () => (await server.request("GET", `/api/images/${imageId}`)).body,
        (image) => image.desired_instances === 3,
        { what: "scaled up to 3", timeoutMs: 240_000, intervalMs: 1_000 },
      );
    } finally {
      await load.stop();
    }
    expect(load.sent()).toBeLessThanOrEqual(150);

    await waitFor(
      async () => (await server.request("GET", `/api/images/${imageId}`)).body,
      (image) => image.desired_instances === 1,
      { what: "scaled back down to 1", timeoutMs: 240_000, intervalMs: 1_000 },
    );

    const events = (
      await server.request("GET", `/api/events?image_id=${imageId}&type=image.scaled&limit=100`)
    ).body.items.map((event: any) => event.data);
    const ups = events.filter((data: any) => data.to > data.from);
    const downs = events.filter((data: any) => data.to < data.from);
    expect(ups.length).toBeGreaterThanOrEqual(1);
    expect(ups[0]).toMatchObject({ metric: "cpu", target: 50, from: 1 });
    expect(ups[0].value).toBeGreaterThan(50);
    expect(ups[0].reason).toMatch(/^scale_up/);
    expect(ups.at(-1).to).toBe(3);
    expect(downs.at(-1)).toMatchObject({ metric: "cpu", to: 1, reason: "scale_down" });
    expect(downs.at(-1).value).toBeLessThan(50);
    // Every move is the autoscaler's, with the count it moved from and to.
    for (const data of events) {
      expect(data.desired_instances).toBe(data.to);
      expect(data.previous_desired_instances).toBe(data.from);
    }

    const view = await server.request("GET", `/api/images/${imageId}/autoscale`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      image_id: imageId,
      autoscale,
      min_instances: 1,
      max_instances: 3,
      desired_instances: 1,
      current: { metric: "cpu", target: 50 },
    });
    expect(view.body.decisions.length).toBe(events.length);
    const metrics = await (
      await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${server.adminToken}` },
      })
    ).text();
    const moved = (direction: string) =>
      Number(
        new RegExp(
          `^orchestrator_autoscaler_scaled_total\\{direction="${direction}"\\} (\\d+)`,
          "m",
        ).exec(metrics)?.[1] ?? 0,
      );
    expect(moved("up")).toBe(ups.length);
    expect(moved("down")).toBe(downs.length);
    expect(view.body.decisions[0]).toMatchObject({ from: downs.at(-1).from, to: 1 });
  });

  it("replaces no container when autoscale changes or goes, and its removal may set the count", async () => {
    const converged = () =>
      waitFor(
        async () => (await server.request("GET", `/api/images/${imageId}`)).body,
        (image) => image.observed_generation === image.generation,
        { what: "the controller caught up", timeoutMs: 60_000 },
      );
    const containerIds = async () =>
      (await server.request("GET", `/api/images/${imageId}/containers`)).body.items
        .filter((item: any) => item.observed_state === "running")
        .map((item: any) => item.container_id)
        .sort();
    await converged();
    const before = await containerIds();
    expect(before).toHaveLength(1);

    const retargeted = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { autoscale: { ...autoscale, target: 90 } },
    });
    expect(retargeted.status, JSON.stringify(retargeted.body)).toBe(200);
    await converged();
    expect(await containerIds()).toEqual(before);

    const patched = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { autoscale: null, desired_instances: 2 },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ autoscale: null, desired_instances: 2 });
    await waitFor(containerIds, (ids) => ids.length === 2, {
      what: "two running instances",
      timeoutMs: 60_000,
    });
    // The one that ran before still runs: only the count changed.
    expect(await containerIds()).toEqual(expect.arrayContaining(before));
    const view = (await server.request("GET", `/api/images/${imageId}/autoscale`)).body;
    expect(view.autoscale).toBeNull();
    // Off, the count is anyone's again.
    const scaled = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { desired_instances: 1 },
    });
    expect(scaled.status).toBe(200);
  });
});
