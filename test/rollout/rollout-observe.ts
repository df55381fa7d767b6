/**
 * What the rollout tests look at (issue 18): an image's conditions and rollout events through
 * the API, and what its containers really run on the engine.
 */
import { docker, managedContainers } from "../support/docker-helpers.ts";
import { testImages } from "../support/test-images.ts";
import type { TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/**
 * The bad revision of the rollback tests: httpd serves for a few seconds, then its index is
 * gone (404, unhealthy): it starts, passes its first checks, then fails them.
 */
export const servesThenFails: readonly string[] = [
  "sh",
  "-c",
  "httpd -p 8080 -h /www && sleep 4 && rm /www/index.html && sleep 3600",
];

/** Two small httpd instances (MODE=one), with room to surge: what the rollout tests roll. */
export const twoHttpdInstances = {
  image: testImages.httpd,
  desired_instances: 2,
  max_instances: 4,
  cpu_limit: "0.2",
  memory_limit: "16m",
  env: { MODE: "one" },
} as const;

/** One condition of an image as the API answers it. */
export const conditionOf = (image: any, type: string) =>
  image.conditions.find((c: any) => c.type === type);

/** The image's rollout events (`image.rollout_*`, `image.rolled_back`), oldest first. */
export async function rolloutEventsOf(server: TestServer, imageId: number): Promise<any[]> {
  const answer = await server.request("GET", `/api/events?image_id=${imageId}&limit=1000`);
  return (answer.body.items as any[]).filter((event) =>
    /^image\.(rollout_|rolled_back)/.test(event.type),
  );
}

/** Each event as [type, from_revision, to_revision]. */
export const revisionSteps = (events: readonly any[]) =>
  events.map((event) => [event.type, event.data.from_revision, event.data.to_revision]);

/** Once a rollout of the image completed: its rollout events as [type, from, to]. */
export async function stepsUntilCompleted(server: TestServer, imageId: number) {
  const events = await waitFor(
    () => rolloutEventsOf(server, imageId),
    (list) => list.some((event) => event.type === "image.rollout_completed"),
    { what: "a rollout's completion", timeoutMs: 180_000 },
  );
  return { events, steps: revisionSteps(events) };
}

/** Each running container of the image: its id, its MODE env value and when it last started. */
export async function runningContainers(server: TestServer, imageId: number) {
  const listed = await managedContainers(server.orchestratorId, imageId);
  const inspected = await Promise.all(
    listed
      .filter((container) => container.State === "running")
      .map((container) => docker.getContainer(container.Id).inspect()),
  );
  return inspected
    .map((container) => ({
      id: container.Id,
      startedAt: container.State.StartedAt,
      mode: (container.Config.Env ?? []).find((entry) => entry.startsWith("MODE="))?.slice(5),
    }))
    .sort((left, right) => left.id.localeCompare(right.id));
}

/** The MODE of each running container of the image, sorted. */
export async function runningModes(server: TestServer, imageId: number) {
  return (await runningContainers(server, imageId)).map((container) => container.mode).sort();
}
