import type { Image, Instance, Orchestrator } from "../client/index.ts";
import { CliError, exitCodes } from "./cli-error.ts";

/**
 * The instances a reference names: its full id, its container name, or (4 characters or more)
 * the start of its id, like a short Docker id. Pure.
 */
export function matchInstances(instances: readonly Instance[], reference: string): Instance[] {
  const exact = instances.filter(
    (instance) => instance.id === reference || instance.name === reference,
  );
  if (exact.length > 0 || reference.length < 4) return exact;
  return instances.filter((instance) => instance.id.startsWith(reference));
}

/** One of your images by name (or numeric id); exit 1 when there is none. */
export async function findImage(client: Orchestrator, name: string): Promise<Image> {
  const images = await client.images.list();
  const image = images.find(
    (candidate) => candidate.name === name || String(candidate.id) === name,
  );
  if (image === undefined) throw new CliError(`image ${name} not found`, exitCodes.failed);
  return image;
}

/** One of your instances by id, short id or container name; exit 1 when none or several. */
export async function findInstance(client: Orchestrator, reference: string): Promise<Instance> {
  const matches = matchInstances(await client.containers.list(), reference);
  if (matches.length === 0) {
    throw new CliError(`container ${reference} not found`, exitCodes.failed);
  }
  if (matches.length > 1) {
    throw new CliError(
      `container ${reference} is ambiguous: ${matches.map((match) => match.name).join(", ")}`,
      exitCodes.failed,
    );
  }
  return matches[0] as Instance;
}

/** `IMAGE|INSTANCE`: an instance when one matches, else every instance of the image named. */
export async function findLogTargets(
  client: Orchestrator,
  reference: string,
): Promise<{ readonly image: Image | undefined; readonly instances: readonly Instance[] }> {
  const all = await client.containers.list();
  const matched = matchInstances(all, reference);
  if (matched.length === 1) return { image: undefined, instances: matched };
  const images = await client.images.list();
  const image = images.find((candidate) => candidate.name === reference);
  if (image === undefined) {
    throw new CliError(`no image or container named ${reference}`, exitCodes.failed);
  }
  return { image, instances: all.filter((instance) => instance.image_id === image.id) };
}
