/**
 * The container options of an image spec on the real engine: each one reaches the container
 * (checked with docker inspect and inside the container), a change of one rolls the instances,
 * restarts are asked for through the API and done once, restart and pull policies, and the
 * options only some may ask for (the admin's, fixed host ports and their conflicts).
 */
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker, execIn, httpGet } from "../support/docker-helpers.ts";
import { backends, hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { buildUdpEchoImage } from "../support/udp-echo.ts";
import { waitFor } from "../support/wait.ts";

/** A block of host ports tenants may ask for in this run (HOST_PORT_RANGE). */
const portBase = 42_000 + (randomBytes(2).readUInt16BE() % 40) * 100;
const portRange = `${portBase}-${portBase + 99}`;

/** Sends one datagram to a host port; the reply, or undefined after a second of silence. */
async function udpExchange(port: number, message: string): Promise<string | undefined> {
  const socket = createSocket("udp4");
  try {
    return await new Promise<string | undefined>((resolve, reject) => {
      const timer = setTimeout(() => resolve(undefined), 1_000);
      socket.once("message", (reply) => {
        clearTimeout(timer);
        resolve(reply.toString("utf8"));
      });
      socket.once("error", reject);
      socket.send(message, port, "127.0.0.1");
    });
  } finally {
    socket.close();
  }
}

/** Listens on a host port as some other program would, until closed. */
async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return server;
}

describe.skipIf(!hasDocker())("container options on the engine", () => {
  let server: TestServer;
  let token: string;
  const as = (method: string, path: string, body?: unknown) =>
    server.request(method, path, { token, ...(body === undefined ? {} : { body }) });

  const instancesOf = async (imageId: number) =>
    (await as("GET", `/api/containers?image_id=${imageId}`)).body.items as any[];

  /** The image's instances once `count` of them run and have a container. */
  const running = (imageId: number, count = 1, what = "instances running") =>
    waitFor(
      () => instancesOf(imageId),
      (items) =>
        items.length === count &&
        items.every((item) => item.observed_state === "running" && item.container_id !== null),
      { what: `${what} of image ${imageId}`, timeoutMs: 60_000 },
    );

  beforeAll(async () => {
    server = await startTestServer({
      env: { HOST_PORT_RANGE: portRange, PUBLISH_IP: "127.0.0.1" },
    });
    token = await server.createUser("alice");
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("runs each container as its options say", async () => {
    const created = await as("POST", "/api/images", {
      name: "configured",
      image: testImages.httpd,
      desired_instances: 1,
      container_port: 8080,
      entrypoint: ["/bin/busybox"],
      command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
      working_dir: "/www",
      user: "1000:1000",
      hostname: "Shop-A",
      labels: { team: "web", "com.example/tier": "front" },
      stop_signal: "SIGINT",
      stop_grace_period: "3s",
      read_only_root_filesystem: true,
      tmpfs: [{ target: "/scratch", size: "16Mi" }],
      init: true,
      ports: [{ container: 5353, protocol: "udp" }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      entrypoint: ["/bin/busybox"],
      working_dir: "/www",
      hostname: "shop-a",
      ports: [{ container: 5353, protocol: "udp" }],
      tmpfs: [{ target: "/scratch", size: "16m" }],
    });
    const [instance] = await running(created.body.id);
    const inspected = await docker.getContainer(instance.container_id).inspect();
    expect(inspected.Config).toMatchObject({
      Entrypoint: ["/bin/busybox"],
      Cmd: ["httpd", "-f", "-p", "8080", "-h", "/www"],
      WorkingDir: "/www",
      User: "1000:1000",
      Hostname: "shop-a",
      StopSignal: "SIGINT",
      StopTimeout: 3,
    });
    expect(inspected.Config.Labels).toMatchObject({
      team: "web",
      "com.example/tier": "front",
      [labelKeys.managedBy]: server.orchestratorId,
      [labelKeys.instanceId]: instance.id,
    });
    expect(inspected.HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      Init: true,
      Tmpfs: { "/scratch": "size=16m" },
      RestartPolicy: { Name: "no" },
    });
    expect(Object.keys(inspected.HostConfig.PortBindings ?? {}).sort()).toEqual([
      "5353/udp",
      "8080/tcp",
    ]);

    // What the API and the events say: every published port.
    const ports = instance.ports as Array<{
      container_port: number;
      protocol: string;
      host_port: number;
    }>;
    expect(ports.map((port) => `${port.container_port}/${port.protocol}`)).toEqual([
      "5353/udp",
      "8080/tcp",
    ]);
    expect(instance.host_port).toBe(ports.find((port) => port.protocol === "tcp")?.host_port);
    const started = await waitFor(
      async () =>
        (await as("GET", `/api/events?image_id=${created.body.id}&type=container.started`)).body
          .items as any[],
      (items) => items.length > 0,
      { what: "the started event" },
    );
    expect(started[0].data.ports).toEqual(instance.ports);
    expect(started[0].data.host_port).toBe(instance.host_port);

    // Inside: serving as user 1000, the root read-only, the tmpfs writable, tini as PID 1.
    expect((await httpGet(instance.host_port, "/index.html")).body).toContain("ok");
    expect(await execIn(instance.container_id, ["id", "-u"])).toMatchObject({
      exitCode: 0,
      output: expect.stringContaining("1000"),
    });
    // /tmp is open to every user: only the read-only root refuses the write.
    expect(await execIn(instance.container_id, ["touch", "/tmp/x"])).toMatchObject({
      exitCode: 1,
      output: expect.stringContaining("Read-only file system"),
    });
    expect((await execIn(instance.container_id, ["touch", "/scratch/x"])).exitCode).toBe(0);
    expect((await execIn(instance.container_id, ["hostname"])).output.trim()).toBe("shop-a");
    const pid1 = await execIn(instance.container_id, ["cat", "/proc/1/cmdline"]);
    expect(pid1.output).toContain("init");
  });

  it("names the container's host after the instance by default, and rolls on an option change", async () => {
    const created = await as("POST", "/api/images", {
      name: "rolled",
      image: testImages.httpd,
      desired_instances: 1,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const [before] = await running(created.body.id);
    const first = await docker.getContainer(before.container_id).inspect();
    expect(first.Config.Hostname).toBe(
      before.name
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "-")
        .slice(0, 63),
    );
    expect(first.HostConfig.Init).toBe(false);
    expect(first.HostConfig.ReadonlyRootfs).toBe(false);

    const patched = await as("PATCH", `/api/images/${created.body.id}`, {
      labels: { release: "2" },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const [after] = await waitFor(
      () => instancesOf(created.body.id),
      (items) =>
        items.length === 1 &&
        items[0].observed_state === "running" &&
        items[0].container_id !== null &&
        items[0].container_id !== before.container_id,
      { what: "the instance replaced on the new spec", timeoutMs: 60_000 },
    );
    expect((await docker.getContainer(after.container_id).inspect()).Config.Labels).toMatchObject({
      release: "2",
    });
    await expect(docker.getContainer(before.container_id).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it("restarts one instance when asked, once, with its grace period", async () => {
    const created = await as("POST", "/api/images", {
      name: "restartable",
      image: testImages.httpd,
      desired_instances: 1,
      stop_grace_period: "2s",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const [instance] = await running(created.body.id);
    const startedAt = (await docker.getContainer(instance.container_id).inspect()).State.StartedAt;

    const asked = await as("POST", `/api/containers/${instance.id}/restart`);
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    expect(asked.body.restart_requested_at).not.toBeNull();

    const [done] = await waitFor(
      () => instancesOf(created.body.id),
      (items) => items[0]?.restart_requested_at === null && items[0]?.observed_state === "running",
      { what: "the restart done", timeoutMs: 60_000 },
    );
    // The same container, started again.
    expect(done.container_id).toBe(instance.container_id);
    const again = (await docker.getContainer(instance.container_id).inspect()).State;
    expect(again.Running).toBe(true);
    expect(Date.parse(again.StartedAt)).toBeGreaterThan(Date.parse(startedAt));
    const events = (
      await as(
        "GET",
        `/api/events?instance_id=${instance.id}&type=container.stopped,container.started`,
      )
    ).body.items as any[];
    expect(
      events
        .filter((event) => event.data.reason === "restart_requested")
        .map((event) => event.type),
    ).toEqual(["container.stopped", "container.started"]);

    // A stopped instance is started, not restarted.
    expect((await as("POST", `/api/containers/${instance.id}/stop`)).status).toBe(202);
    const refused = await as("POST", `/api/containers/${instance.id}/restart`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("conflict");
  });

  it("restarts a failing container only as its restart policy says", async () => {
    const created = await as("POST", "/api/images", {
      name: "retried-once",
      image: testImages.crasher,
      desired_instances: 1,
      restart_policy: { name: "on-failure", max_retries: 1 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // Restarted once right away (the first restart has no back-off), then left exited.
    const [ended] = await waitFor(
      () => instancesOf(created.body.id),
      (items) =>
        items[0]?.restart_count === 1 &&
        items[0]?.observed_state === "exited" &&
        items[0]?.next_restart_at === null,
      { what: "the instance ended after one retry", timeoutMs: 60_000 },
    );
    expect(ended.last_exit_code).toBe(3);
    const image = (await as("GET", `/api/images/${created.body.id}`)).body;
    expect(image.conditions.find((condition: any) => condition.type === "Degraded")).toMatchObject({
      status: "True",
    });
    // A restart policy is the controller's: Docker restarts nothing by itself.
    const inspected = await docker.getContainer(ended.container_id).inspect();
    expect(inspected.HostConfig.RestartPolicy).toEqual({ Name: "no", MaximumRetryCount: 0 });
  });

  it("uses only what the engine has under pull_policy never", async () => {
    const missing = `${server.orchestratorId}-absent/app:1`;
    const created = await as("POST", "/api/images", {
      name: "never-pulled",
      image: missing,
      desired_instances: 1,
      pull_policy: "never",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const image = await waitFor(
      async () => (await as("GET", `/api/images/${created.body.id}`)).body,
      (body) =>
        body.conditions?.some(
          (condition: any) => condition.type === "Ready" && condition.reason === "ImageNotFound",
        ),
      { what: "ImageNotFound", timeoutMs: 60_000 },
    );
    expect(image.conditions.find((condition: any) => condition.type === "Ready").message).toContain(
      "pull_policy is never",
    );
    expect((await instancesOf(created.body.id)).every((item) => item.container_id === null)).toBe(
      true,
    );
  });

  it("answers on a UDP port, published on a host port of its own", async () => {
    const tag = `orchestrator-test/${server.orchestratorId.toLowerCase().replace(/[^a-z0-9-]/g, "-")}-udp:latest`;
    await buildUdpEchoImage(docker, tag);
    try {
      const created = await as("POST", "/api/images", {
        name: "udp-echo",
        image: tag,
        desired_instances: 1,
        ports: [{ container: 5353, protocol: "udp" }],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const [instance] = await running(created.body.id);
      const udp = (
        instance.ports as Array<{ container_port: number; protocol: string; host_port: number }>
      ).find((port) => port.protocol === "udp");
      expect(udp?.container_port).toBe(5353);
      const hostPort = udp?.host_port ?? 0;
      expect(hostPort).toBeGreaterThan(0);
      // The server binds as the container starts: ask until it answers.
      const reply = await waitFor(
        () => udpExchange(hostPort, "ping over udp"),
        (answer) => answer !== undefined,
        { what: "a UDP reply", timeoutMs: 30_000 },
      );
      expect(reply).toBe("ping over udp");
      expect((await as("DELETE", `/api/images/${created.body.id}`)).status).toBe(202);
      await waitFor(
        async () => (await as("GET", `/api/images/${created.body.id}`)).status,
        (status) => status === 404,
        { what: "the UDP image deleted", timeoutMs: 60_000 },
      );
    } finally {
      await docker
        .getImage(tag)
        .remove({ force: true })
        .catch(() => {});
    }
  });

  it("says PortInUse when a fixed host port is taken on the machine, and starts once it is free", async () => {
    const port = portBase + 7;
    const squatter = await occupy(port);
    let closed = false;
    try {
      const created = await as("POST", "/api/images", {
        name: "fixed-port",
        image: testImages.httpd,
        desired_instances: 1,
        max_instances: 1,
        ports: [{ container: 8080, host: port }],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const failing = await waitFor(
        async () => (await as("GET", `/api/images/${created.body.id}`)).body,
        (body) =>
          body.conditions?.some(
            (condition: any) => condition.type === "Degraded" && condition.reason === "PortInUse",
          ),
        { what: "the PortInUse condition", timeoutMs: 60_000 },
      );
      expect(failing.conditions.find((c: any) => c.type === "Ready").status).toBe("False");
      const [instance] = await instancesOf(created.body.id);
      expect(instance.last_error).toMatch(/^port_in_use: /);
      expect(instance.restart_count).toBe(0);

      await new Promise((resolve) => squatter.close(resolve));
      closed = true;
      const [serving] = await running(created.body.id, 1, "serving once the port is free");
      expect(serving.host_port).toBe(port);
      expect((await httpGet(port, "/index.html")).body).toContain("ok");
    } finally {
      if (!closed) await new Promise((resolve) => squatter.close(resolve));
    }
  }, 120_000);
});

describe.each(backends())("container options only some may ask for, on %s", (backend) => {
  let server: TestServer;
  let token: string;
  const as = (method: string, path: string, body?: unknown, asToken = token) =>
    server.request(method, path, { token: asToken, ...(body === undefined ? {} : { body }) });

  beforeAll(async () => {
    server = await startTestServer({ backend, env: { HOST_PORT_RANGE: portRange } });
    token = await server.createUser("bob");
  });

  afterAll(async () => {
    await server?.stop();
  });

  const spec = (name: string, extra: Record<string, unknown>) => ({
    name,
    image: testImages.httpd,
    desired_instances: 0,
    min_instances: 0,
    ...extra,
  });

  it("refuses reserved labels and bad values with the field's path, changing nothing", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ labels: { "managed-by": "someone-else" } }, "labels.managed-by"],
      [{ labels: { [labelKeys.imageId]: "1" } }, `labels.${labelKeys.imageId}`],
      [{ ports: [{ container: 53, protocol: "sctp" }] }, "ports[0].protocol"],
      [{ command: "npm start" }, "command"],
      [{ stop_signal: "KILL" }, "stop_signal"],
      [{ restart_policy: { name: "always", max_retries: 3 } }, "restart_policy.max_retries"],
    ];
    for (const [extra, path] of cases) {
      const refused = await as("POST", "/api/images", spec("bad", extra));
      expect(refused.status, JSON.stringify(extra)).toBe(422);
      expect(refused.headers.get("content-type")).toBe("application/problem+json");
      expect(refused.body.errors.map((error: { path: string }) => error.path)).toContain(path);
    }
    expect((await as("GET", "/api/images")).body.items).toEqual([]);
  });

  it("keeps privileged, cap_add and devices to the admin", async () => {
    for (const extra of [
      { privileged: true },
      { cap_add: ["NET_ADMIN"] },
      { devices: ["/dev/fuse"] },
    ]) {
      const refused = await as("POST", "/api/images", spec("escalating", extra));
      expect(refused.status, JSON.stringify(extra)).toBe(403);
      expect(refused.body.code).toBe("forbidden");
      expect(refused.body.errors[0].path).toBe(Object.keys(extra)[0]);
    }
    const created = await as("POST", "/api/images", spec("plain", {}));
    expect(created.status).toBe(201);
    const patched = await as("PATCH", `/api/images/${created.body.id}`, { privileged: true });
    expect(patched.status).toBe(403);
    expect((await as("GET", `/api/images/${created.body.id}`)).body.privileged).toBe(false);
    // The admin may.
    const admin = await as(
      "POST",
      "/api/images",
      spec("trusted", { cap_add: ["CAP_NET_ADMIN"] }),
      server.adminToken,
    );
    expect(admin.status, JSON.stringify(admin.body)).toBe(201);
    expect(admin.body.cap_add).toEqual(["NET_ADMIN"]);
  });

  it("gives a fixed host port within HOST_PORT_RANGE to one image only", async () => {
    const outside = await as(
      "POST",
      "/api/images",
      spec("outside", { max_instances: 1, ports: [{ container: 8080, host: portBase - 1 }] }),
    );
    expect(outside.status).toBe(422);
    expect(outside.body.errors[0]).toMatchObject({
      path: "ports[0].host",
      message: expect.stringContaining(portRange.replace("-", " and ")),
    });
    const scaled = await as(
      "POST",
      "/api/images",
      spec("scaled", { max_instances: 3, ports: [{ container: 8080, host: portBase + 1 }] }),
    );
    expect(scaled.status).toBe(422);

    const port = portBase + 2;
    const first = await as(
      "POST",
      "/api/images",
      spec("first", { max_instances: 1, ports: [{ container: 8080, host: port }] }),
    );
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const second = await as(
      "POST",
      "/api/images",
      spec("second", { max_instances: 1, ports: [{ container: 9090, host: port }] }),
    );
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: "port_in_use" });
    expect(second.body.errors[0].path).toBe("ports[0].host");
    // The same number over UDP is another port.
    const udp = await as(
      "POST",
      "/api/images",
      spec("udp", {
        max_instances: 1,
        ports: [{ container: 9090, protocol: "udp", host: port }],
      }),
    );
    expect(udp.status, JSON.stringify(udp.body)).toBe(201);
    // The first image may keep its own port through a change.
    const kept = await as("PATCH", `/api/images/${first.body.id}`, {
      ports: [{ container: 8081, host: port }],
    });
    expect(kept.status, JSON.stringify(kept.body)).toBe(200);
  });

  it("gives a fixed host port two tenants race for to one of them only", async () => {
    const carol = await server.createUser("carol");
    for (const round of [0, 1, 2, 3]) {
      const port = portBase + 10 + round;
      // Each also asks for a second port, in the other order every other time: the port locks
      // are taken in one order, so that no two writes deadlock (a 500).
      const ports = (index: number) => {
        const both = [
          { container: 8080, host: port },
          { container: 8081, host: portBase + 20 + round },
        ];
        return index % 2 === 0 ? both : both.reverse();
      };
      const answers = await Promise.all(
        [token, carol, token, carol, token, carol].map((asToken, index) =>
          as(
            "POST",
            "/api/images",
            spec(`racer-${round}-${index}`, { max_instances: 1, ports: ports(index) }),
            asToken,
          ),
        ),
      );
      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
      for (const refused of answers.filter((answer) => answer.status === 409)) {
        expect(refused.body.code).toBe("port_in_use");
      }
    }
    const holders = (
      await server.service.store.db.selectFrom("images").select("name").execute()
    ).filter((row) => row.name.startsWith("racer-"));
    expect(holders).toHaveLength(4);
  });

  it("gives fixed host ports two applies race for to one of them, whatever the order of their documents", async () => {
    const dave = await server.createUser("dave");
    for (const round of [0, 1, 2, 3]) {
      const [first, second] = [portBase + 30 + round, portBase + 40 + round];
      // Each set asks for both ports, from two images, in the other order than the other set
      // (and the second image of each also for a hostname the other's first one asks for):
      // an apply takes every lock of its set in the one order single writes take them, so the
      // two wait for each other instead of deadlocking (a 409 `conflict`, decided by nobody).
      const documents = (ports: number[], hostnames: string[]) =>
        ports.map((port, index) =>
          spec(`crossed-${round}-${index}`, {
            max_instances: 1,
            ports: [{ container: 8080, host: port }],
            app_hostname: hostnames[index],
          }),
        );
      const hostnames = [`one-${round}.crossed.test`, `two-${round}.crossed.test`];
      const answers = await Promise.all([
        as(
          "POST",
          "/api/apply",
          { set: `crossed-${round}`, documents: documents([first, second], hostnames) },
          token,
        ),
        as(
          "POST",
          "/api/apply",
          {
            set: `crossed-${round}`,
            documents: documents([second, first], hostnames.toReversed()),
          },
          dave,
        ),
      ]);
      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses, JSON.stringify(answers.map((answer) => answer.body))).toEqual([200, 409]);
      const refused = answers.find((answer) => answer.status === 409);
      expect(["port_in_use", "hostname_taken"]).toContain(refused?.body.code);
    }
  });
});
