import { expect } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker, httpGet, managedContainers } from "../support/docker-helpers.ts";
import { testImages } from "../support/test-images.ts";
import { waitFor } from "../support/wait.ts";

/** JSON over HTTP to an orchestrator that runs in a container, published on 127.0.0.1:port. */
export function deployedApi(port: () => number, token: () => string) {
  return async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`http://127.0.0.1:${port()}${route}`, {
      method,
      headers: { authorization: `Bearer ${token()}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text) };
  };
}

/**
 * Through the deployed orchestrator's API: runs `instances` of the httpd test app with an HTTP
 * health check, waits until every one runs and its probe passes (the orchestrator reached the
 * published port from where it runs), checks they serve and carry its id, then deletes the app
 * and waits until its containers are gone.
 */
export async function convergeHealthCheckedApp(
  api: ReturnType<typeof deployedApi>,
  orchestratorId: string,
  instances: number,
): Promise<void> {
  const created = await api("POST", "/api/images", {
    name: "web",
    tag: "v1",
    image: testImages.httpd,
    container_port: 8080,
    min_instances: 1,
    max_instances: 3,
    desired_instances: instances,
    health_check: { http_path: "/index.html", interval: "2s", retries: 2 },
  });
  expect(created.status).toBe(201);
  const imageId = created.body.id as number;

  const running = await waitFor(
    async () => (await api("GET", `/api/images/${imageId}/containers`)).body.items as any[],
    (items) =>
      items.length === instances &&
      items.every((item) => item.observed_state === "running" && item.health === "healthy"),
    {
      what: `${instances} running instances whose HTTP probes pass`,
      timeoutMs: 180_000,
      intervalMs: 1_000,
      describe: (items) =>
        items.map(({ observed_state, health, probe }) => ({ observed_state, health, probe })),
    },
  );
  for (const instance of running) {
    expect(instance.probe).toMatchObject({ ok: true, kind: "http" });
    expect((await httpGet(instance.host_port)).body).toBe("ok\n");
  }
  const containers = await managedContainers(orchestratorId, imageId);
  expect(containers.map((container) => container.Labels[labelKeys.managedBy])).toEqual(
    Array(instances).fill(orchestratorId),
  );

  expect((await api("DELETE", `/api/images/${imageId}`)).status).toBeLessThan(300);
  await waitFor(
    () => managedContainers(orchestratorId, imageId),
    (left) => left.length === 0,
    { what: "the app's containers removed", timeoutMs: 120_000, intervalMs: 1_000 },
  );
  await waitFor(
    async () => (await api("GET", `/api/images/${imageId}`)).status,
    (status) => status === 404,
    { what: "the deleted image gone from the API", timeoutMs: 120_000, intervalMs: 1_000 },
  );
  const networks = await waitFor(
    () => docker.listNetworks({ filters: { label: [`${labelKeys.managedBy}=${orchestratorId}`] } }),
    (left) => left.length === 0,
    {
      what: "the tenant's network removed with its last image",
      timeoutMs: 120_000,
      intervalMs: 1_000,
      describe: (left) => left.map((network) => network.Name),
    },
  );
  expect(networks).toEqual([]);
}
