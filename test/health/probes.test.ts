import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../support/docker-helpers.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe("health checks", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  const create = async (body: Record<string, unknown>) => {
    const response = await server.request("POST", "/api/images", {
      body: { cpu_limit: "0.2", memory_limit: "16m", ...body },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.id as number;
  };
  const instancesOf = async (imageId: number) =>
    (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[];
  const imageOf = async (imageId: number) =>
    (await server.request("GET", `/api/images/${imageId}`)).body;
  const condition = (image: any, type: string) =>
    image.conditions.find((c: any) => c.type === type);

  it("probes over HTTP from outside, records unhealthy, replaces the instance, and it recovers", async () => {
    const imageId = await create({
      name: "probed",
      image: testImages.httpd,
      desired_instances: 2,
      health_check: { http_path: "/index.html", interval: "1s", timeout: "1s", retries: 2 },
    });
    const healthy = await waitFor(
      () => instancesOf(imageId),
      (items) => items.length === 2 && items.every((item) => item.health === "healthy"),
      { what: "both healthy" },
    );
    await waitFor(
      () => imageOf(imageId),
      (image) => condition(image, "Ready")?.status === "True",
      { what: "Ready" },
    );

    // Break one: its health path starts answering 404.
    const victim = healthy[0];
    const exec = await docker
      .getContainer(victim.container_id)
      .exec({ Cmd: ["rm", "/www/index.html"] });
    await exec.start({});
    const unhealthyEvent = await waitFor(
      async () =>
        (
          await server.request(
            "GET",
            `/api/events?instance_id=${victim.id}&type=container.unhealthy`,
          )
        ).body.items as any[],
      (items) => items.length === 1,
      { what: "container.unhealthy" },
    );
    expect(unhealthyEvent[0].data.reason).toBe("GET /index.html answered 404");

    const replaced = await waitFor(
      async () => (await server.request("GET", `/api/containers/${victim.id}`)).body,
      (body) => body.container_id !== victim.container_id && body.health === "healthy",
      { what: "replaced and healthy" },
    );
    expect(replaced.probe).toMatchObject({ ok: true, kind: "http", status_code: 200 });
    const types = (
      (await server.request("GET", `/api/events?instance_id=${victim.id}&limit=100`)).body
        .items as any[]
    ).map((event) => `${event.type}:${event.data.reason}`);
    expect(types).toEqual(
      expect.arrayContaining([
        "container.unhealthy:GET /index.html answered 404",
        "container.stopped:unhealthy",
        "container.removed:unhealthy",
        "container.created:replace_unhealthy",
      ]),
    );
    expect(types.filter((type) => type.startsWith("container.healthy"))).toHaveLength(2);
  });

  it("probes a running instance whose published port is not on record yet, and records the port", async () => {
    const imageId = await create({
      name: "portless",
      image: testImages.httpd,
      desired_instances: 1,
      health_check: { http_path: "/index.html", interval: "1s", timeout: "5s", retries: 3 },
    });
    const [before] = await waitFor(
      () => instancesOf(imageId),
      (items) => items.length === 1 && items[0].health === "healthy",
      { what: "healthy", timeoutMs: 120_000 },
    );
    // Ready: the passes that follow a start (min_ready) are over.
    await waitFor(
      () => imageOf(imageId),
      (image) => condition(image, "Ready")?.status === "True",
      { what: "Ready", timeoutMs: 120_000 },
    );
    // As a pass leaves it when its list of containers was taken before Docker reported the
    // port: running, no port on record, not probed yet. Written behind the controller's back,
    // so nothing wakes the image (its next resync is minutes away): only the prober can help.
    await server.service.store.db
      .updateTable("instances")
      .set({
        host_port: null,
        host_ports: JSON.stringify({}) as any,
        health: "unknown",
        last_probe: null,
      })
      .where("id", "=", before.id)
      .execute();
    const after = await waitFor(
      async () => (await server.request("GET", `/api/containers/${before.id}`)).body,
      (body) => body.health === "healthy",
      { what: "probed again and healthy", timeoutMs: 60_000 },
    );
    expect(after.container_id).toBe(before.container_id);
    expect(after.host_port).toBe(before.host_port);
    expect(after.ports).toEqual(before.ports);
    expect(after.probe).toMatchObject({ ok: true, kind: "http", status_code: 200 });
  });

  it("maps { test: [...] } onto Docker's HEALTHCHECK and follows its verdict", async () => {
    const imageId = await create({
      name: "docker-check",
      image: testImages.httpd,
      desired_instances: 1,
      health_check: {
        test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"],
        interval: "1s",
        retries: 1,
      },
    });
    const [instance] = await waitFor(
      () => instancesOf(imageId),
      (items) => items[0]?.health === "healthy",
      { what: "healthy by Docker's check" },
    );
    const info = await docker.getContainer(instance.container_id).inspect();
    expect(info.Config.Healthcheck?.Test).toEqual([
      "CMD",
      "wget",
      "-q",
      "-O",
      "/dev/null",
      "http://127.0.0.1:8080/index.html",
    ]);
    expect(info.Config.Healthcheck?.Interval).toBe(1_000_000_000);
  });

  it("treats a hung health endpoint as unhealthy, replaces it with a growing back-off, and degrades the image", async () => {
    const imageId = await create({
      name: "hung",
      image: testImages.hang,
      desired_instances: 1,
      health_check: { http_path: "/cgi-bin/health", interval: "1s", timeout: "300ms", retries: 1 },
    });
    const image = await waitFor(
      () => imageOf(imageId),
      (body) => condition(body, "Degraded")?.status === "True",
      { what: "Degraded" },
    );
    expect(condition(image, "Degraded")).toMatchObject({ reason: "Unhealthy" });
    expect(condition(image, "Degraded").message).toMatch(/timed out after 300 ms/);
    expect(condition(image, "Ready").status).toBe("False");
    // Watch for 15 s: replacements slow down (0 s, then 10 s, 20 s …), never a tight loop.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    const events = (
      await server.request(
        "GET",
        `/api/events?image_id=${imageId}&type=container.created&limit=100`,
      )
    ).body.items;
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.length).toBeLessThanOrEqual(4);
    const [instance] = await instancesOf(imageId);
    expect(instance.consecutive_failures).toBeGreaterThanOrEqual(2);
  });

  it("records an OOM kill as such, with a back-off", async () => {
    const imageId = await create({
      name: "hog",
      image: testImages.hog,
      desired_instances: 1,
      memory_limit: "8m",
    });
    const [instance] = await waitFor(
      () => instancesOf(imageId),
      (items) => items[0]?.observed_state === "crash_loop",
      { what: "crash_loop after OOM kills" },
    );
    expect(instance.last_exit_code).toBe(137);
    expect(Date.parse(instance.next_restart_at)).toBeGreaterThan(Date.now());
    // Docker flags OOMKilled from a separate kernel notification that can trail the exit under
    // load; at least one of the deaths carries it, and that one is recorded as an OOM kill.
    const failed = (
      await server.request("GET", `/api/events?instance_id=${instance.id}&type=container.failed`)
    ).body.items as any[];
    expect(failed.length).toBeGreaterThanOrEqual(2);
    const oom = failed.find((event) => event.data.reason === "oom_killed");
    expect(oom?.data).toMatchObject({
      exit_code: 137,
      error: "killed: out of memory (memory limit reached)",
    });
  });

  it("keeps a crashing container's last log lines", async () => {
    const imageId = await create({
      name: "crashy",
      image: testImages.crasher,
      desired_instances: 1,
    });
    const [instance] = await waitFor(
      () => instancesOf(imageId),
      (items) => items[0]?.last_exit_code === 3,
      { what: "a crash" },
    );
    const detail = (await server.request("GET", `/api/containers/${instance.id}`)).body;
    expect(detail.last_logs).toContain("dying");
    const logs = await fetch(`${server.url}/api/containers/${instance.id}/logs?tail=5`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(await logs.text()).toContain("dying");
  });
});
