/**
 * The security suite, generated from the route table: every `/api` route of the running app
 * (read from hono's own table) meets every kind of stranger (no token, a wrong token, an
 * expired one, a revoked one, another tenant's, the owner's read-only one) with requests that
 * would change something if they got through, and must answer 401, 403 or 404 as the table
 * below says, with nothing changed in the database or in Docker. A route added without its row
 * fails the suite. On both backends, on the real engine.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { archiveOf, webApp } from "../builds/build-support.ts";
import { docker, managedContainers } from "../support/docker-helpers.ts";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/** The ids of the victim's resources, the requests are aimed at. */
type Targets = {
  readonly imageId: number;
  readonly instanceId: string;
  readonly tokenId: number;
  /** A pooled image of the victim's, and the claim its key holds. */
  readonly poolImageId: number;
  readonly claimId: string;
};

type AttackRequest = {
  readonly path: string;
  readonly body?: unknown;
  /** A body that is not JSON (an upload), with its content type. */
  readonly raw?: { readonly data: NonNullable<RequestInit["body"]>; readonly contentType?: string };
};

/**
 * How a route answers strangers:
 * - `owned`: it names the victim's resource; another tenant gets 404, the read token reads.
 * - `mine`: it is about the caller (lists, whoami, own quota): another tenant gets 200 and sees
 *   nothing of the victim's; with `asVictim`, the request names the victim and gets 403.
 * - `admin`: the admin's; everyone else gets 403.
 * - `public`: the API's own description, the same for anyone (200), changing nothing.
 */
type Row = {
  readonly kind: "owned" | "mine" | "admin" | "public";
  readonly requests: (targets: Targets) => readonly AttackRequest[];
};

const multipart = (fields: Record<string, string>, file?: Blob) => {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  if (file !== undefined) form.append("file", file, "app.tar");
  return form;
};

/** Every /api route and how it must answer strangers. A new route needs a row here. */
function routeTable(archive: Blob): Record<string, Row> {
  return {
    "POST /api/tokens": {
      kind: "mine",
      requests: () => [{ path: "/api/tokens", body: { user: "alice" } }],
    },
    "GET /api/tokens": { kind: "mine", requests: () => [{ path: "/api/tokens?user=alice" }] },
    "DELETE /api/tokens/:id": {
      kind: "owned",
      requests: (t) => [{ path: `/api/tokens/${t.tokenId}` }],
    },
    "POST /api/users": {
      kind: "admin",
      requests: () => [{ path: "/api/users", body: { name: "mallory" } }],
    },
    "GET /api/users": { kind: "admin", requests: () => [{ path: "/api/users" }] },
    "GET /api/quota": { kind: "mine", requests: () => [{ path: "/api/quota?user=alice" }] },
    "PATCH /api/quota": {
      kind: "admin",
      requests: () => [{ path: "/api/quota?user=alice", body: { instances: 0 } }],
    },
    "GET /api/audit": { kind: "admin", requests: () => [{ path: "/api/audit?user=alice" }] },
    "GET /api/openapi.json": {
      kind: "public",
      requests: () => [{ path: "/api/openapi.json" }],
    },
    "GET /api/whoami": { kind: "mine", requests: () => [{ path: "/api/whoami" }] },
    "GET /api/version": { kind: "mine", requests: () => [{ path: "/api/version" }] },
    "POST /api/images": {
      kind: "mine",
      requests: () => [
        {
          path: "/api/images?user=alice",
          body: { name: "planted", image: testImages.httpd, desired_instances: 1 },
        },
        {
          path: "/api/images?user=alice",
          raw: { data: multipart({ name: "planted-upload", desired_instances: "1" }, archive) },
        },
      ],
    },
    "PUT /api/images/:id/source": {
      kind: "owned",
      requests: (t) => [
        {
          path: `/api/images/${t.imageId}/source`,
          raw: { data: archive, contentType: "application/x-tar" },
        },
      ],
    },
    "GET /api/images": { kind: "mine", requests: () => [{ path: "/api/images?user=alice" }] },
    "GET /api/images/with-containers": {
      kind: "mine",
      requests: () => [{ path: "/api/images/with-containers?user=alice" }],
    },
    "GET /api/images/:id": {
      kind: "owned",
      requests: (t) => [{ path: `/api/images/${t.imageId}` }],
    },
    "PATCH /api/images/:id": {
      kind: "owned",
      requests: (t) => [
        { path: `/api/images/${t.imageId}`, body: { desired_instances: 3, env: { OWNED: "1" } } },
      ],
    },
    "DELETE /api/images/:id": {
      kind: "owned",
      requests: (t) => [{ path: `/api/images/${t.imageId}` }],
    },
    "GET /api/images/:id/containers": {
      kind: "owned",
      requests: (t) => [{ path: `/api/images/${t.imageId}/containers` }],
    },
    "POST /api/images/:id/rebuild": {
      kind: "owned",
      requests: (t) => [{ path: `/api/images/${t.imageId}/rebuild` }],
    },
    "GET /api/images/:id/build-logs": {
      kind: "owned",
      requests: (t) => [{ path: `/api/images/${t.imageId}/build-logs` }],
    },
    "GET /api/images/:id/revisions": {
      kind: "owned",
      requests: (t) => [{ path: `/api/images/${t.imageId}/revisions` }],
    },
    "POST /api/images/:id/rollback": {
      kind: "owned",
      requests: (t) => [
        { path: `/api/images/${t.imageId}/rollback`, body: { revision: 1 } },
        { path: `/api/images/${t.imageId}/rollback` },
      ],
    },
    "POST /api/images/:id/rollout/pause": {
      kind: "owned",
      requests: (t) => [{ path: `/api/images/${t.imageId}/rollout/pause` }],
    },
    "POST /api/images/:id/rollout/resume": {
      kind: "owned",
      requests: (t) => [{ path: `/api/images/${t.imageId}/rollout/resume` }],
    },
    "GET /api/images/:id/autoscale": {
      kind: "owned",
      requests: (t) => [{ path: `/api/images/${t.imageId}/autoscale` }],
    },
    "POST /api/images/:id/wake": {
      kind: "owned",
      requests: (t) => [{ path: `/api/images/${t.imageId}/wake` }],
    },
    "GET /api/containers": {
      kind: "mine",
      requests: (t) => [
        { path: "/api/containers" },
        { path: `/api/containers?image_id=${t.imageId}` },
      ],
    },
    "POST /api/containers/:id": {
      kind: "owned",
      requests: (t) => [{ path: `/api/containers/${t.imageId}`, body: { count: 2 } }],
    },
    "GET /api/containers/:id": {
      kind: "owned",
      requests: (t) => [{ path: `/api/containers/${t.instanceId}` }],
    },
    "POST /api/containers/:id/start": {
      kind: "owned",
      requests: (t) => [{ path: `/api/containers/${t.instanceId}/start` }],
    },
    "POST /api/containers/:id/stop": {
      kind: "owned",
      requests: (t) => [{ path: `/api/containers/${t.instanceId}/stop` }],
    },
    "POST /api/containers/:id/restart": {
      kind: "owned",
      requests: (t) => [{ path: `/api/containers/${t.instanceId}/restart` }],
    },
    "POST /api/containers/:id/destroy": {
      kind: "owned",
      requests: (t) => [{ path: `/api/containers/${t.instanceId}/destroy` }],
    },
    "POST /api/images/:id/claims": {
      kind: "owned",
      requests: (t) => [
        { path: `/api/images/${t.poolImageId}/claims?wait=0s`, body: { key: "mallory" } },
        { path: `/api/images/${t.poolImageId}/claims?wait=0s`, body: { key: "alice-project" } },
      ],
    },
    "GET /api/images/:id/claims": {
      kind: "owned",
      requests: (t) => [{ path: `/api/images/${t.poolImageId}/claims` }],
    },
    "GET /api/claims": {
      kind: "mine",
      requests: (t) => [
        { path: "/api/claims" },
        { path: `/api/claims?image_id=${t.poolImageId}&key=alice-project` },
      ],
    },
    "GET /api/claims/:id": {
      kind: "owned",
      requests: (t) => [{ path: `/api/claims/${t.claimId}` }],
    },
    "POST /api/claims/:id/renew": {
      kind: "owned",
      requests: (t) => [{ path: `/api/claims/${t.claimId}/renew`, body: { ttl: "720h" } }],
    },
    "DELETE /api/claims/:id": {
      kind: "owned",
      requests: (t) => [{ path: `/api/claims/${t.claimId}` }],
    },
    "DELETE /api/claims": {
      kind: "mine",
      requests: (t) => [
        { path: "/api/claims?key=alice-project" },
        { path: `/api/claims?key=alice-project&image_id=${t.poolImageId}` },
      ],
    },
    "GET /api/volumes": { kind: "mine", requests: () => [{ path: "/api/volumes?user=alice" }] },
    "DELETE /api/volumes/:name": {
      kind: "owned",
      requests: () => [{ path: "/api/volumes/data" }],
    },
    "DELETE /api/containers/:id": {
      kind: "owned",
      requests: (t) => [{ path: `/api/containers/${t.instanceId}` }],
    },
    "GET /api/containers/:id/health": {
      kind: "owned",
      requests: (t) => [{ path: `/api/containers/${t.instanceId}/health` }],
    },
    "GET /api/containers/:id/health/history": {
      kind: "owned",
      requests: (t) => [{ path: `/api/containers/${t.instanceId}/health/history` }],
    },
    "GET /api/containers/:id/logs": {
      kind: "owned",
      requests: (t) => [{ path: `/api/containers/${t.instanceId}/logs?tail=5` }],
    },
    "POST /api/apply": {
      kind: "mine",
      requests: () => [
        {
          path: "/api/apply?user=alice&prune=1&allow_empty=1",
          body: { set: "alice-set", documents: [] },
        },
        {
          path: "/api/apply?user=alice",
          body: {
            set: "planted",
            documents: [{ name: "web", image: testImages.httpd, desired_instances: 5 }],
          },
        },
      ],
    },
    "POST /api/secrets": {
      kind: "mine",
      requests: () => [
        { path: "/api/secrets?user=alice", body: { name: "alice-db-password", value: "x" } },
      ],
    },
    "GET /api/secrets": {
      kind: "mine",
      requests: () => [{ path: "/api/secrets" }, { path: "/api/secrets?user=alice" }],
    },
    "DELETE /api/secrets/:name": {
      kind: "owned",
      requests: () => [{ path: "/api/secrets/alice-db-password" }],
    },
    "POST /api/registries": {
      kind: "mine",
      requests: () => [
        {
          path: "/api/registries?user=alice",
          body: { server: "registry.alice.example", username: "x", password: "y" },
        },
      ],
    },
    "GET /api/registries": {
      kind: "mine",
      requests: () => [{ path: "/api/registries" }, { path: "/api/registries?user=alice" }],
    },
    "DELETE /api/registries/:server": {
      kind: "owned",
      requests: () => [{ path: "/api/registries/registry.alice.example" }],
    },
    "GET /api/events": {
      kind: "mine",
      requests: (t) => [{ path: `/api/events?image_id=${t.imageId}` }, { path: "/api/events" }],
    },
  };
}

type Stranger =
  | "no token"
  | "wrong token"
  | "expired token"
  | "revoked token"
  | "another tenant"
  | "read-only token";

const strangers: readonly Stranger[] = [
  "no token",
  "wrong token",
  "expired token",
  "revoked token",
  "another tenant",
  "read-only token",
];

/** What a stranger must get from a route (a status, and for lists: none of the victim's). */
function expectedStatus(
  stranger: Stranger,
  row: Row,
  method: string,
  request: AttackRequest,
): number {
  if (row.kind === "public") return 200;
  if (
    stranger === "no token" ||
    stranger === "wrong token" ||
    stranger === "expired token" ||
    stranger === "revoked token"
  )
    return 401;
  const reads = method === "GET";
  if (stranger === "read-only token") {
    if (!reads) return 403;
    return row.kind === "admin" ? 403 : 200;
  }
  // Another tenant.
  if (row.kind === "admin") return 403;
  if (row.kind === "owned") return 404;
  const namesVictim =
    /[?&]user=alice\b/.test(request.path) || JSON.stringify(request.body ?? {}).includes('"alice"');
  return namesVictim ? 403 : 200;
}

describe.each(backends())("every /api route against strangers, on %s", (backend) => {
  let server: TestServer;
  let targets: Targets;
  const tokens = {} as Record<Stranger, string | null>;
  let archive: Blob;

  beforeAll(async () => {
    server = await startTestServer({
      backend,
      env: { AUTH_FAILURES_PER_MINUTE: "100000", RATE_LIMIT_WRITES_PER_MINUTE: "100000" },
    });
    archive = new Blob([new Uint8Array(await archiveOf("tar", webApp("planted")))]);
    const alice = await server.createUser("alice");
    const bob = await server.createUser("bob");
    const created = await server.request("POST", "/api/images", {
      token: alice,
      body: {
        name: "web",
        image: testImages.httpd,
        desired_instances: 1,
        memory_limit: "32m",
        volumes: [{ type: "volume", source: "data", target: "/data" }],
      },
    });
    await server.request("POST", "/api/apply", {
      token: alice,
      body: {
        set: "alice-set",
        documents: [{ name: "docs", image: testImages.httpd, desired_instances: 0 }],
      },
    });
    const [instance] = await waitFor(
      async () =>
        (await server.request("GET", `/api/images/${created.body.id}/containers`, { token: alice }))
          .body.items,
      (items: any[]) => items[0]?.observed_state === "running",
      { what: "alice's instance running" },
    );
    await waitFor(
      async () =>
        (await server.request("GET", `/api/images/${created.body.id}`, { token: alice })).body,
      (image) => image.status === "ready" && image.observed_generation === image.generation,
      { what: "alice's image converged" },
    );
    await server.request("POST", "/api/secrets", {
      token: alice,
      body: { name: "alice-db-password", value: "alice's value" },
    });
    await server.request("POST", "/api/registries", {
      token: alice,
      body: { server: "registry.alice.example", username: "alice-ci", password: "alice's pw" },
    });
    const grant = async (body: Record<string, unknown>) =>
      (await server.request("POST", "/api/tokens", { body: { user: "alice", ...body } })).body;
    const expired = await grant({ name: "expired", expires_in: "1h" });
    await server.service.store.db
      .updateTable("api_tokens")
      .set({ expires_at: new Date(Date.now() - 60_000) })
      .where("id", "=", expired.id)
      .execute();
    const revoked = await grant({ name: "revoked" });
    await server.request("DELETE", `/api/tokens/${revoked.id}`);
    const readOnly = await grant({ name: "read", scope: "read" });
    const aliceTokenId = (await server.request("GET", "/api/whoami", { token: alice })).body
      .token_id;
    const pooled = await server.request("POST", "/api/images", {
      token: alice,
      body: {
        name: "pool",
        image: testImages.httpd,
        memory_limit: "16m",
        pool: { min_idle: 1, max: 2 },
      },
    });
    const claim = await server.request("POST", `/api/images/${pooled.body.id}/claims?wait=60s`, {
      token: alice,
      body: { key: "alice-project" },
    });
    expect(claim.status, JSON.stringify(claim.body)).toBe(200);
    await waitFor(
      async () =>
        (await server.request("GET", `/api/images/${pooled.body.id}/containers`, { token: alice }))
          .body.items,
      (items: any[]) =>
        items.length === 2 && items.every((item) => item.observed_state === "running"),
      { what: "alice's pool refilled", timeoutMs: 60_000 },
    );
    await waitFor(
      async () =>
        (await server.request("GET", `/api/images/${pooled.body.id}`, { token: alice })).body,
      (image) => image.status === "ready" && image.observed_generation === image.generation,
      { what: "alice's pool converged" },
    );
    targets = {
      imageId: created.body.id,
      instanceId: instance.id,
      tokenId: aliceTokenId,
      poolImageId: pooled.body.id,
      claimId: claim.body.claim_id,
    };
    Object.assign(tokens, {
      "no token": null,
      "wrong token": "orc_wrong_0123456789abcdefghijklmnopqrstuvwxyzABCD",
      "expired token": expired.token,
      "revoked token": revoked.token,
      "another tenant": bob,
      "read-only token": readOnly.token,
    });
  });
  afterAll(() => server?.stop());

  const apiRoutes = () => [
    ...new Set(
      server.service.app.routes
        .filter((route) => route.method !== "ALL" && route.path.startsWith("/api/"))
        .map((route) => `${route.method} ${route.path}`),
    ),
  ];

  it("has a row for every /api route of the app, and a route for every row", () => {
    const table = Object.keys(routeTable(archive)).sort();
    expect(apiRoutes().sort()).toEqual(table);
    expect(table.length).toBeGreaterThanOrEqual(30);
  });

  /** Everything a refused request must leave as it was. */
  async function state() {
    const db = server.service.store.db;
    const rows = async (table: string, columns: string) =>
      (await sql.raw(`select ${columns} from ${table} order by 1`).execute(db)).rows;
    return {
      images: await rows(
        "images",
        "id, user_id, name, status, desired_instances, env::text, generation, resource_version, source_digest, deletion_requested_at, rollout_paused",
      ),
      instances: await rows(
        "instances",
        "id, image_id, desired_state, deletion_requested_at, container_id, claim_id, claim_key, claim_expires_at, recycle_requested_at",
      ),
      users: await rows("users", "id, name, quota_instances"),
      tokens: await rows("api_tokens", "id, user_id, name, scope, expires_at"),
      audit: await rows("audit_log", "id"),
      secrets: await rows("secrets", "id, user_id, name, version, ciphertext"),
      registries: await rows(
        "registry_credentials",
        "id, user_id, server, username, password_ciphertext",
      ),
      events: await rows("events", "seq"),
      revisions: await rows("image_revisions", "image_id, revision"),
      containers: (await managedContainers(server.orchestratorId))
        .map((container) => `${container.Id} ${container.State}`)
        .sort(),
      volumes: (
        (
          await docker.listVolumes({
            filters: { label: [`managed-by=${server.orchestratorId}`] },
          })
        ).Volumes ?? []
      )
        .map((volume) => volume.Name)
        .sort(),
    };
  }

  async function send(method: string, request: AttackRequest, token: string | null) {
    const headers: Record<string, string> =
      token === null ? {} : { authorization: `Bearer ${token}` };
    let body: NonNullable<RequestInit["body"]> | undefined;
    if (request.raw !== undefined) {
      body = request.raw.data;
      if (request.raw.contentType !== undefined) headers["content-type"] = request.raw.contentType;
    } else if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers["content-type"] = "application/json";
    } else if (method !== "GET" && method !== "DELETE") {
      headers["content-type"] = "application/json";
      body = "{}";
    }
    const response = await fetch(`${server.url}${request.path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    return { status: response.status, text };
  }

  it.each(strangers)("answers %s as the table says, changing nothing", async (stranger) => {
    const table = routeTable(archive);
    const failures: string[] = [];
    for (const [key, row] of Object.entries(table)) {
      const [method = "GET"] = key.split(" ");
      for (const request of row.requests(targets)) {
        const before = await state();
        const answer = await send(method, request, tokens[stranger]);
        const expected = expectedStatus(stranger, row, method, request);
        const after = await state();
        const label = `${stranger}: ${method} ${request.path}`;
        if (answer.status !== expected)
          failures.push(
            `${label} → ${answer.status}, not ${expected}: ${answer.text.slice(0, 200)}`,
          );
        if (JSON.stringify(after) !== JSON.stringify(before))
          failures.push(`${label} changed the database or Docker`);
        // What another tenant may read never shows the victim's resources.
        if (stranger === "another tenant" && answer.status === 200 && row.kind !== "public") {
          for (const secret of [
            `"web"`,
            `"docs"`,
            targets.instanceId,
            targets.claimId,
            "alice-project",
            `"user":"alice"`,
            "alice-db-password",
            "registry.alice.example",
          ]) {
            if (answer.text.includes(secret)) failures.push(`${label} shows ${secret}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
