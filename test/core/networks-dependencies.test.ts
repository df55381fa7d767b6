/**
 * Networks and dependencies on the real engine: `app` reaches `db` by name over a network they
 * declare, another tenant can neither resolve nor reach it; a dependency holds back its
 * dependents until it meets its condition (no row, no container before), a failed one says so;
 * cycles and unknown names are refused before anything is written; deleting a set removes
 * dependents first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker, execIn } from "../support/docker-helpers.ts";
import { hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/**
 * busybox wget of a URL from inside a container, given up after a few seconds (by `timeout`:
 * Debian's static busybox wget crashes with its own -T).
 */
const fetchFrom = (containerId: string, url: string) =>
  execIn(containerId, ["timeout", "5", "wget", "-qO-", url]);

/**
 * `http://{name}:8080{path}` from inside a container, the name resolved there by the engine's
 * DNS. Debian's static busybox cannot resolve names itself (its glibc looks for NSS modules the
 * image lacks, and wget crashes), so its own `nslookup` asks the container's resolver, and wget
 * fetches the address it gets (exit 2: the name did not resolve).
 */
const fetchByName = (containerId: string, name: string, path: string) =>
  execIn(containerId, [
    "sh",
    "-c",
    `address=$(nslookup ${name} 2>/dev/null | awk '/^Name:/ {found=1} found && /^Address/ {print $2; exit}'); ` +
      `[ -n "$address" ] || { echo "${name} does not resolve"; exit 2; }; ` +
      `timeout 5 wget -qO- "http://$address:8080${path}"`,
  ]);

type Condition = { type: string; status: string; reason: string; message: string };

describe.skipIf(!hasDocker())("networks and dependencies on the engine", () => {
  let server: TestServer;
  let alice: string;
  let bob: string;

  const as = (token: () => string) => (method: string, path: string, body?: unknown) =>
    server.request(method, path, { token: token(), ...(body === undefined ? {} : { body }) });
  const asAlice = as(() => alice);
  const asBob = as(() => bob);

  const create = async (request: ReturnType<typeof as>, body: Record<string, unknown>) => {
    const created = await request("POST", "/api/images", {
      image: testImages.httpd,
      desired_instances: 1,
      ...body,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as { id: number; user_id: string; name: string };
  };

  const instancesOf = async (imageId: number) =>
    (await asAlice("GET", `/api/containers?image_id=${imageId}`)).body.items as any[];

  const containersOf = (imageId: number) =>
    docker.listContainers({
      all: true,
      filters: {
        label: [
          `${labelKeys.managedBy}=${server.orchestratorId}`,
          `${labelKeys.imageId}=${imageId}`,
        ],
      },
    });

  const conditionsOf = async (request: ReturnType<typeof as>, imageId: number) => {
    const image = await request("GET", `/api/images/${imageId}`);
    return Object.fromEntries(
      (image.body.conditions as Condition[]).map((condition) => [condition.type, condition]),
    );
  };

  /** The image's one instance once it runs in a container. */
  const runningContainer = async (
    request: ReturnType<typeof as>,
    imageId: number,
  ): Promise<string> => {
    const [instance] = await waitFor(
      async () => (await request("GET", `/api/containers?image_id=${imageId}`)).body.items as any[],
      (items) =>
        items.length === 1 &&
        items[0].observed_state === "running" &&
        items[0].container_id !== null,
      { what: `a running instance of image ${imageId}`, timeoutMs: 60_000 },
    );
    return instance.container_id as string;
  };

  const gone = (request: ReturnType<typeof as>, imageId: number) =>
    waitFor(
      async () => (await request("GET", `/api/images/${imageId}`)).status,
      (status) => status === 404,
      { what: `image ${imageId} gone`, timeoutMs: 90_000 },
    );

  beforeAll(async () => {
    server = await startTestServer();
    alice = await server.createUser("alice");
    bob = await server.createUser("bob");
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("lets app reach db by name on the network both declare, and no other tenant", async () => {
    const db = await create(asAlice, { name: "db", networks: ["backend"] });
    const app = await create(asAlice, { name: "app", networks: ["backend"] });
    expect(app).toMatchObject({ networks: ["backend"] });
    const appContainer = await runningContainer(asAlice, app.id);
    const dbContainer = await runningContainer(asAlice, db.id);

    const tenantNetwork = `${server.orchestratorId}-u${app.user_id}`;
    const backend = `${tenantNetwork}-backend`;
    const inspected = await docker.getContainer(dbContainer).inspect();
    const networks = inspected.NetworkSettings.Networks;
    expect(Object.keys(networks).sort()).toEqual([tenantNetwork, backend]);
    // Reachable by its image's name on each of its networks.
    expect(networks[backend]?.Aliases).toContain("db");
    expect(networks[tenantNetwork]?.Aliases).toContain("db");
    const network = await docker.getNetwork(backend).inspect();
    expect(network.Labels).toMatchObject({
      [labelKeys.managedBy]: server.orchestratorId,
      [labelKeys.owner]: app.user_id,
      [labelKeys.network]: "backend",
    });

    const byName = await fetchByName(appContainer, "db", "/index.html");
    expect(byName, byName.output).toMatchObject({ exitCode: 0 });
    expect(byName.output).toContain("ok");
    const dbAddress = networks[backend]?.IPAddress as string;
    expect(dbAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const byAddress = await fetchFrom(appContainer, `http://${dbAddress}:8080/index.html`);
    expect(byAddress, byAddress.output).toMatchObject({ exitCode: 0 });

    // Bob declares a network of the same name: his own, with no route to Alice's.
    const spy = await create(asBob, { name: "spy", networks: ["backend"] });
    const spyContainer = await runningContainer(asBob, spy.id);
    const bobBackend = `${server.orchestratorId}-u${spy.user_id}-backend`;
    expect(bobBackend).not.toBe(backend);
    const spyNetworks = (await docker.getContainer(spyContainer).inspect()).NetworkSettings
      .Networks;
    expect(Object.keys(spyNetworks)).toContain(bobBackend);
    expect(Object.keys(spyNetworks)).not.toContain(backend);
    const resolved = await fetchByName(spyContainer, "db", "/index.html");
    expect(resolved, resolved.output).toMatchObject({ exitCode: 2 });
    const reached = await fetchFrom(spyContainer, `http://${dbAddress}:8080/index.html`);
    expect(reached.exitCode, reached.output).not.toBe(0);
    // Naming another tenant's network by its Docker name only makes one more of his own.
    const sneaky = await create(asBob, { name: "sneaky", networks: [backend] });
    const sneakyNetworks = Object.keys(
      (await docker.getContainer(await runningContainer(asBob, sneaky.id)).inspect())
        .NetworkSettings.Networks,
    );
    expect(sneakyNetworks).toContain(`${server.orchestratorId}-u${spy.user_id}-${backend}`);
    expect(sneakyNetworks).not.toContain(backend);
    expect((await asBob("DELETE", `/api/images/${sneaky.id}`)).status).toBe(202);

    // A network goes when no image of its tenant declares it any more; the other's stays.
    expect((await asAlice("DELETE", `/api/images/${app.id}`)).status).toBe(202);
    expect((await asAlice("DELETE", `/api/images/${db.id}`)).status).toBe(202);
    await gone(asAlice, app.id);
    await gone(asAlice, db.id);
    await waitFor(
      async () => (await docker.listNetworks({ filters: { name: [backend] } })).map((n) => n.Name),
      (names) => !names.includes(backend),
      { what: `network ${backend} removed`, timeoutMs: 30_000 },
    );
    expect((await docker.getNetwork(bobBackend).inspect()).Name).toBe(bobBackend);
    expect((await asBob("DELETE", `/api/images/${spy.id}`)).status).toBe(202);
    await gone(asBob, spy.id);
  });

  it("removes a network its image stops declaring, also with no container left to remove", async () => {
    const lone = await create(asAlice, { name: "lone", networks: ["scratch"] });
    await runningContainer(asAlice, lone.id);
    const scratch = `${server.orchestratorId}-u${lone.user_id}-scratch`;
    const networkNames = async () =>
      (await docker.listNetworks({ filters: { name: [scratch] } })).map((network) => network.Name);
    expect(await networkNames()).toContain(scratch);

    // Scaled to 0: its container goes, the network it still declares stays.
    expect(
      (await asAlice("PATCH", `/api/images/${lone.id}`, { desired_instances: 0 })).status,
    ).toBe(200);
    await waitFor(
      () => containersOf(lone.id),
      (containers) => containers.length === 0,
      { what: "lone's container removed", timeoutMs: 60_000 },
    );
    await waitFor(
      async () => (await asAlice("GET", `/api/images/${lone.id}`)).body,
      (image) => image.observed_generation === image.generation,
      { what: "the scale-down observed" },
    );
    expect(await networkNames()).toContain(scratch);

    // No longer declared: the pass has no container to remove, and still removes the network.
    expect((await asAlice("PATCH", `/api/images/${lone.id}`, { networks: [] })).status).toBe(200);
    await waitFor(networkNames, (names) => !names.includes(scratch), {
      what: `network ${scratch} removed`,
      timeoutMs: 30_000,
    });
    expect((await asAlice("DELETE", `/api/images/${lone.id}`)).status).toBe(202);
    await gone(asAlice, lone.id);
  });

  it("creates no instance of a dependent until its dependency is healthy, then starts it", async () => {
    // Healthy only once /www/ready.html exists, about 5 s after it starts.
    const slow = await create(asAlice, {
      name: "slowdb",
      command: ["sh", "-c", "(sleep 5; echo ok > /www/ready.html) & exec httpd -f -p 8080 -h /www"],
      health_check: { http_path: "/ready.html", interval: "1s", timeout: "1s", retries: 1 },
    });
    const web = await create(asAlice, { name: "web", depends_on: ["slowdb"] });
    expect(web).toMatchObject({ depends_on: [{ name: "slowdb", condition: "healthy" }] });

    let waiting: Condition | undefined;
    // waitFor retries a read that throws: what the dependent had too early is collected here.
    const early: unknown[] = [];
    await waitFor(
      async () => {
        // The dependent first, then the dependency: Ready does not go back here, so a
        // dependency not Ready yet was not Ready when the dependent was read either.
        const [instances, containers, webConditions] = await Promise.all([
          instancesOf(web.id),
          containersOf(web.id),
          conditionsOf(asAlice, web.id),
        ]);
        const slowReady = (await conditionsOf(asAlice, slow.id)).Ready?.status === "True";
        if (!slowReady) {
          early.push(...instances, ...containers);
          if (webConditions.Ready?.reason === "WaitingForDependencies") {
            waiting = webConditions.Progressing;
          }
        }
        return slowReady;
      },
      (ready) => ready,
      { what: "slowdb Ready", timeoutMs: 90_000, intervalMs: 200 },
    );
    expect(early).toEqual([]);
    // Seen waiting (the test is not vacuous), and said so.
    expect(waiting).toMatchObject({
      status: "True",
      reason: "WaitingForDependencies",
      message: "waiting for slowdb (healthy)",
    });
    await runningContainer(asAlice, web.id);
    await waitFor(
      () => conditionsOf(asAlice, web.id),
      (conditions) => conditions.Ready?.status === "True",
      { what: "web Ready", timeoutMs: 60_000 },
    );
    expect((await asAlice("DELETE", `/api/images/${web.id}`)).status).toBe(202);
    await gone(asAlice, web.id);
    expect((await asAlice("DELETE", `/api/images/${slow.id}`)).status).toBe(202);
    await gone(asAlice, slow.id);
  });

  it("refuses a cycle and an unknown name, in the API and in an apply, changing nothing", async () => {
    const idle = { desired_instances: 0 };
    const a = await create(asAlice, { name: "ring-a", ...idle });
    await create(asAlice, { name: "ring-b", depends_on: ["ring-a"], ...idle });

    const cycle = await asAlice("PATCH", `/api/images/${a.id}`, { depends_on: ["ring-b"] });
    expect(cycle.status).toBe(422);
    expect(cycle.body.detail).toContain("depends_on: ring-a → ring-b → ring-a");
    expect(cycle.body.errors).toEqual([
      { path: "depends_on[0]", message: "ring-a → ring-b → ring-a is a cycle" },
    ]);
    const self = await asAlice("PATCH", `/api/images/${a.id}`, {
      depends_on: [{ name: "ring-a", condition: "started" }],
    });
    expect(self.status).toBe(422);
    expect(self.body.errors[0].message).toBe("ring-a → ring-a is a cycle");
    expect((await asAlice("GET", `/api/images/${a.id}`)).body.depends_on).toEqual([]);

    const unknown = await asAlice("POST", "/api/images", {
      name: "lost",
      image: testImages.httpd,
      depends_on: ["ring-a", "nowhere"],
      ...idle,
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors).toEqual([
      { path: "depends_on[1]", message: "nowhere: no image of yours has this name" },
    ]);
    // Another tenant's image is no dependency of Bob's: unknown to him.
    const foreign = await asBob("POST", "/api/images", {
      name: "leech",
      image: testImages.httpd,
      depends_on: ["ring-a"],
      ...idle,
    });
    expect(foreign.status).toBe(422);
    expect(foreign.body.errors[0].path).toBe("depends_on[0]");

    // A dependency others need is not deleted alone.
    const needed = await asAlice("DELETE", `/api/images/${a.id}`);
    expect(needed.status).toBe(409);
    expect(needed.body.detail).toContain("ring-a is a dependency of ring-b");

    const doc = (name: string, dependsOn: unknown[]) => ({
      name,
      image: testImages.httpd,
      depends_on: dependsOn,
      ...idle,
    });
    const setCycle = await asAlice("POST", "/api/apply", {
      set: "loop",
      documents: [
        doc("loop-x", ["ring-a"]),
        doc("loop-p", ["loop-q"]),
        doc("loop-q", [{ name: "loop-p", condition: "started" }]),
      ],
    });
    expect(setCycle.status).toBe(422);
    expect(setCycle.body.detail).toContain("depends_on: loop-p → loop-q → loop-p");
    expect(setCycle.body.errors).toEqual([
      { path: "documents[1].depends_on[0]", message: "loop-p → loop-q → loop-p is a cycle" },
    ]);
    const setUnknown = await asAlice("POST", "/api/apply?dry_run=1", {
      set: "loop",
      documents: [doc("loop-x", ["ring-a", "ghost"])],
    });
    expect(setUnknown.status).toBe(422);
    expect(setUnknown.body.errors[0].path).toBe("documents[0].depends_on[1]");
    const names = ((await asAlice("GET", "/api/images")).body.items as any[]).map((i) => i.name);
    expect(names.filter((name) => name.startsWith("loop-"))).toEqual([]);

    // The set may name its own images in any order, and the tenant's others.
    const fine = await asAlice("POST", "/api/apply", {
      set: "loop",
      documents: [doc("loop-p", ["loop-q", "ring-b"]), doc("loop-q", [])],
    });
    expect(fine.status, JSON.stringify(fine.body)).toBe(200);
    const pruned = await asAlice("POST", "/api/apply?prune=1&allow_empty=1", {
      set: "loop",
      documents: [],
    });
    expect(pruned.status).toBe(200);
    // ring-b goes first (loop-p, which needs it, is being deleted), then ring-a.
    const ringB = ((await asAlice("GET", "/api/images")).body.items as any[]).find(
      (image) => image.name === "ring-b",
    );
    expect((await asAlice("DELETE", `/api/images/${ringB.id}`)).status).toBe(202);
    expect((await asAlice("DELETE", `/api/images/${a.id}`)).status).toBe(202);
    await gone(asAlice, a.id);
  });

  it("shows DependencyFailed on a dependent when its dependency crash-loops", async () => {
    const crashing = await create(asAlice, { name: "crashdb", image: testImages.crasher });
    // `healthy` (the default): a crash-looping dependency is never Ready, so nothing of the
    // client may start. (With `started`, a crasher running for a moment between its restarts
    // rightly lets the client start.)
    const client = await create(asAlice, { name: "client", depends_on: ["crashdb"] });
    const degraded = await waitFor(
      () => conditionsOf(asAlice, client.id),
      (conditions) => conditions.Degraded?.reason === "DependencyFailed",
      { what: "client DependencyFailed", timeoutMs: 90_000 },
    );
    expect(degraded.Degraded).toMatchObject({ status: "True" });
    expect(degraded.Degraded?.message).toMatch(/^dependency_failed: crashdb is Degraded \(/);
    expect(degraded.Ready).toMatchObject({ status: "False", reason: "WaitingForDependencies" });
    expect(await instancesOf(client.id)).toEqual([]);
    expect(await containersOf(client.id)).toEqual([]);
    expect((await asAlice("DELETE", `/api/images/${client.id}`)).status).toBe(202);
    expect((await asAlice("DELETE", `/api/images/${crashing.id}`)).status).toBe(202);
    await gone(asAlice, client.id);
    await gone(asAlice, crashing.id);
  });

  it("prunes a set dependents first: image.deleted of each after its dependents'", async () => {
    const started = (name: string) => [{ name, condition: "started" }];
    const doc = (name: string, dependsOn: unknown[]) => ({
      name,
      image: testImages.httpd,
      desired_instances: 1,
      depends_on: dependsOn,
    });
    // Listed dependencies first, so that an order by the set would be the wrong one.
    const applied = await asAlice("POST", "/api/apply", {
      set: "stack",
      documents: [doc("back", []), doc("mid", started("back")), doc("front", started("mid"))],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const ids = Object.fromEntries(
      (applied.body.items as any[]).map((item) => [item.name, item.image_id as number]),
    );
    for (const name of ["back", "mid", "front"]) {
      await runningContainer(asAlice, ids[name] as number);
    }

    const pruned = await asAlice("POST", "/api/apply?prune=1&allow_empty=1", {
      set: "stack",
      documents: [],
    });
    expect(pruned.status).toBe(200);
    for (const name of ["front", "mid", "back"]) await gone(asAlice, ids[name] as number);
    const deleted = (await asAlice("GET", "/api/events?type=image.deleted&limit=1000")).body
      .items as any[];
    const order = deleted
      .filter((event) => Object.values(ids).includes(event.image_id))
      .sort((left, right) => Number(left.seq) - Number(right.seq))
      .map((event) => event.image_id);
    expect(order).toEqual([ids.front, ids.mid, ids.back]);
  });
});
