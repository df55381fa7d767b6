import { expect } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { managedContainers } from "./docker-helpers.ts";
import type { ApiCall } from "./spawn-server.ts";
import { testImages } from "./test-images.ts";
import type { TestServer } from "./test-server.ts";
import { waitFor } from "./wait.ts";

/** The API of an in-process test server as an ApiCall. */
export function callerOf(server: TestServer): ApiCall {
  return async (method, path, body) => {
    const response = await server.request(method, path, body === undefined ? {} : { body });
    return { status: response.status, body: response.body };
  };
}

/** Registers an image of the httpd test app (small limits); returns its id. */
export async function registerHttpd(
  call: ApiCall,
  name: string,
  counts: { desired: number; max: number },
): Promise<number> {
  const created = await call("POST", "/api/images", {
    name,
    image: testImages.httpd,
    desired_instances: counts.desired,
    max_instances: counts.max,
    memory_limit: "16m",
    cpu_limit: "0.1",
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as number;
}

/** Every event of an image, oldest first (the API pages by 1000). */
export async function imageEvents(call: ApiCall, imageId: number): Promise<any[]> {
  const events: any[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await call(
      "GET",
      `/api/events?image_id=${imageId}&limit=1000${after === undefined ? "" : `&after=${after}`}`,
    );
    if (page.status !== 200) throw new Error(`GET /api/events: ${JSON.stringify(page.body)}`);
    const items = page.body.items as any[];
    events.push(...items);
    if (items.length < 1000) return events;
    after = String(page.body.next_after);
  }
}

/** The container event types of each instance, in order. */
export function transitionsByInstance(events: readonly any[]): Map<string, string[]> {
  const byInstance = new Map<string, string[]>();
  for (const event of events) {
    if (!String(event.type).startsWith("container.")) continue;
    const instanceId = event.instance_id ?? event.data?.instance_id;
    byInstance.set(instanceId, [...(byInstance.get(instanceId) ?? []), event.type]);
  }
  return byInstance;
}

export type Converged = {
  readonly containers: Awaited<ReturnType<typeof managedContainers>>;
  readonly records: any[];
  readonly events: any[];
};

/**
 * Waits until an image runs exactly `desired` containers, each recorded running, then checks
 * what must hold after any fault: Docker and the database agree one to one (no duplicate
 * container for an instance, no container without its instance, no instance without its
 * container), and no event id appears twice.
 */
export async function expectConverged(
  call: ApiCall,
  orchestratorId: string,
  imageId: number,
  desired: number,
  options: { timeoutMs?: number } = {},
): Promise<Converged> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  await waitFor(
    async () => {
      const [containers, records] = await Promise.all([
        managedContainers(orchestratorId, imageId),
        call("GET", `/api/images/${imageId}/containers`).then(
          (response) => response.body.items as any[],
        ),
      ]);
      return { containers, records };
    },
    ({ containers, records }) =>
      containers.length === desired &&
      containers.every((container) => container.State === "running") &&
      records.length === desired &&
      records.every(
        (record) =>
          record.observed_state === "running" &&
          containers.some((container) => container.Id === record.container_id),
      ),
    {
      timeoutMs,
      what: `${desired} running and recorded`,
      // A few words per container and instance: the whole listing is cut after 2,000 characters.
      describe: ({ containers, records }) => ({
        containers: containers.map((container) => [
          container.Labels?.[labelKeys.instanceId],
          container.State,
          container.Status,
          container.Id.slice(0, 12),
        ]),
        records: records.map((record) => [
          record.id,
          record.observed_state,
          record.desired_state,
          String(record.container_id ?? "").slice(0, 12),
          record.last_error,
        ]),
      }),
    },
  );
  const containers = await managedContainers(orchestratorId, imageId);
  const records = (await call("GET", `/api/images/${imageId}/containers`)).body.items as any[];
  expect(containers).toHaveLength(desired);
  const instanceIds = containers.map((container) => container.Labels[labelKeys.instanceId]);
  expect(new Set(instanceIds).size, "one container per instance").toBe(desired);
  expect(records.map((record) => record.id).sort(), "no orphan, no missing container").toEqual(
    [...instanceIds].sort(),
  );
  expect(records.map((record) => record.container_id).sort()).toEqual(
    containers.map((container) => container.Id).sort(),
  );
  const events = await imageEvents(call, imageId);
  const ids = events.map((event) => event.id);
  expect(new Set(ids).size, "no event recorded twice").toBe(ids.length);
  return { containers, records, events };
}
