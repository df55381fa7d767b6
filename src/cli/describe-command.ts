import type { Orchestrator, OrchestratorEvent } from "../client/index.ts";
import { CliError } from "./cli-error.ts";
import { type CommandIo, parseCommand } from "./command-io.ts";
import { describeImage, describeInstance } from "./describe-format.ts";
import { latestEvents } from "./event-cursor.ts";
import { findImage, findInstance } from "./resolve-names.ts";

export const describeHelp = `Usage: orchestrator describe image|container NAME

Shows one image (its spec, conditions, instances and recent events) or one container
(instance: its state, ports, restarts, latest resource sample and recent events), like
kubectl describe. A container is named by its id, short id or name.

Options:
  -h, --help   show this help`;

const recentEvents = 20;

/** The last events of an image (or of one of its instances). */
async function recent(
  client: Orchestrator,
  imageId: number,
  instanceId?: string,
): Promise<OrchestratorEvent[]> {
  const keep = (event: OrchestratorEvent) =>
    instanceId === undefined || event.instance_id === instanceId;
  return (await latestEvents(client, { image: imageId }, recentEvents, keep)).events;
}

export async function describeCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand(args, {}, describeHelp, io);
  if (parsed === undefined) return 0;
  const { positionals } = parsed;
  const [kind, name, ...extra] = positionals;
  if (name === undefined || extra.length > 0) {
    throw new CliError("describe needs a kind and a name: describe image|container NAME");
  }
  const client = await io.client();
  const now = new Date();
  if (kind === "image" || kind === "images") {
    const image = await client.images.get((await findImage(client, name)).id);
    const [instances, events] = await Promise.all([
      client.images.containers(image.id),
      recent(client, image.id),
    ]);
    for (const line of describeImage(image, instances, events, now)) io.out(line);
    return 0;
  }
  if (kind === "container" || kind === "containers") {
    const instance = await findInstance(client, name);
    const [image, health, events] = await Promise.all([
      client.images.get(instance.image_id),
      client.containers.health(instance.id),
      recent(client, instance.image_id, instance.id),
    ]);
    for (const line of describeInstance(instance, image.name, health, events, now)) io.out(line);
    return 0;
  }
  throw new CliError(`describe what? image or container (see --help)`);
}
