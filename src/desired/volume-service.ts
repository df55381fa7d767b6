import type { Actor } from "../domain/actor.ts";
import { withOptionDefaults } from "../domain/container-options.ts";
import { namedVolumesOf, volumeDockerName, volumeNamePattern } from "../domain/volumes.ts";
import type { Store } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import { DesiredStateError } from "./errors.ts";

/** A tenant's volume as the engine knows it. */
export type EngineVolume = {
  readonly dockerName: string;
  readonly userId: number;
  /** The tenant's name for it. */
  readonly name: string;
  readonly createdAt: Date | null;
  readonly sizeBytes: number | null;
};

/**
 * What the volume service asks of the engine (the Docker adapter implements it): the volumes
 * this controller made, and their removal, which the engine refuses while a container mounts one.
 */
export type VolumeEngine = {
  /** Everyone's volumes (undefined) or one user's, with their sizes. */
  list(userId: number | undefined): Promise<EngineVolume[]>;
  find(dockerName: string): Promise<EngineVolume | undefined>;
  remove(dockerName: string): Promise<"removed" | "in_use" | "gone">;
};

/** A volume with the images of its owner that mount it. */
export type VolumeView = EngineVolume & { readonly usedBy: readonly string[] };

/** The names of `userId`'s images whose spec mounts the named volume `name`. */
function imagesNaming(images: readonly ImageRecord[], userId: number, name: string) {
  return images.filter(
    (image) =>
      image.user_id === userId &&
      namedVolumesOf(withOptionDefaults(image.container_options).volumes).includes(name),
  );
}

/**
 * Tenants' named volumes: listed from the engine (the truth about what exists and its size)
 * with the images that mount each (the desired state), and removed only when asked and unused.
 * The controller creates them; nothing removes them implicitly.
 */
export function createVolumeService(
  store: Store,
  engine: VolumeEngine,
  options: { readonly orchestratorId: string },
) {
  return {
    async list(userId: number | undefined): Promise<VolumeView[]> {
      const [volumes, images] = await Promise.all([engine.list(userId), store.images.list(userId)]);
      return volumes.map((volume) => ({
        ...volume,
        usedBy: imagesNaming(images, volume.userId, volume.name).map((image) => image.name),
      }));
    },

    /**
     * Removes one of the user's volumes: 404 when they have none of that name, 409
     * `volume_in_use` while an instance of an image that mounts it exists (or the engine says a
     * container mounts it).
     */
    async delete(userId: number, name: string, actor: Actor): Promise<void> {
      const notFound = new DesiredStateError("not_found", `volume ${name} not found`);
      if (!volumeNamePattern.test(name)) throw notFound;
      const dockerName = volumeDockerName(options.orchestratorId, userId, name);
      const found = await engine.find(dockerName);
      if (found === undefined || found.userId !== userId) throw notFound;
      const naming = imagesNaming(await store.images.list(userId), userId, name);
      const instances = await store.instances.listOfImages(naming.map((image) => image.id));
      const inUse = (detail: string) =>
        new DesiredStateError("volume_in_use", `volume ${name} is in use: ${detail}`, {
          extensions: { used_by: naming.map((image) => image.name) },
        });
      if (instances.length > 0) {
        const users = naming.filter((image) =>
          instances.some((instance) => instance.image_id === image.id),
        );
        throw inUse(
          `instances of ${users.map((image) => image.name).join(", ")} mount it; remove them (or scale to 0) first`,
        );
      }
      const removal = await engine.remove(dockerName);
      if (removal === "in_use") throw inUse("a container still mounts it");
      if (removal === "gone") throw notFound;
      await store.transaction((tx) =>
        tx.audit.append(actor, [
          {
            action: "volume.delete",
            userId,
            imageId: null,
            target: `volumes/${name}`,
            old: { name, docker_name: dockerName },
            new: null,
          },
        ]),
      );
    },
  };
}

export type VolumeService = ReturnType<typeof createVolumeService>;
