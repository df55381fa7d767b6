import type { Image, Instance, Orchestrator } from "../client/index.ts";
import { latestEvents } from "./event-cursor.ts";
import { type FollowedContainer, logStreamsToOpen } from "./log-streams-to-open.ts";

/** `--tail` for "every line": what the API's six digits allow. */
export const allLines = 999_999;

export type FollowImageLogsOptions = {
  /** For the instances running when it starts; later ones print from their first line. */
  readonly tail: number | undefined;
  readonly since: Date | undefined;
  readonly signal: AbortSignal;
};

/**
 * `logs -f IMAGE`: follows the output of every instance of the image, and of each container
 * that starts later (a scale-up, a replacement, a restart), like `docker compose logs -f`.
 * Level-triggered: each container event of the image (from the newest seq before the first
 * listing, so none is missed) only says "list the instances again"; `logStreamsToOpen` decides.
 * Ends when `signal` aborts or the image is deleted.
 */
export async function followImageLogs(
  client: Orchestrator,
  image: Image,
  options: FollowImageLogsOptions,
  print: (instance: Instance, line: string) => void,
  report: (message: string) => void,
): Promise<void> {
  const { signal } = options;
  const { newest } = await latestEvents(client, { image: image.id }, 0);
  const followed = new Map<string, FollowedContainer>();
  const streams = new Set<Promise<void>>();

  const open = (instance: Instance, from: { tail?: number; since?: Date }) => {
    const containerId = instance.container_id;
    if (containerId === null) return;
    followed.set(containerId, { streaming: true });
    const stream = (async () => {
      try {
        for await (const line of client.containers.followLogs(instance.id, { signal, ...from })) {
          print(instance, line);
        }
      } catch (error) {
        if (!signal.aborted) report(`${instance.name}: ${(error as Error).message}`);
      } finally {
        followed.set(containerId, { streaming: false, endedAt: new Date() });
      }
    })();
    streams.add(stream);
    void stream.then(() => streams.delete(stream));
  };

  // At start, every container, as `logs` without -f prints them (a stopped one's last lines).
  const first = {
    ...(options.tail === undefined ? {} : { tail: options.tail }),
    ...(options.since === undefined ? {} : { since: options.since }),
  };
  for (const instance of await client.images.containers(image.id)) open(instance, first);

  for await (const event of client.events({ image: image.id, after: newest, signal })) {
    if (event.type === "image.deleted") break;
    if (!event.type.startsWith("container.")) continue;
    let instances: Instance[];
    try {
      instances = await client.images.containers(image.id);
    } catch (error) {
      if (signal.aborted) break;
      report(`${image.name}: cannot list its instances: ${(error as Error).message}`);
      continue;
    }
    for (const { instance, since } of logStreamsToOpen(instances, followed)) {
      open(instance, since === undefined ? { tail: allLines } : { tail: allLines, since });
    }
  }
  await Promise.all(streams);
}
