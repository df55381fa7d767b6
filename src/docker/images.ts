import type { DockerClient } from "./connection.ts";
import { dockerStatus, withDockerRetry } from "./retry.ts";

/** What the engine knows of a local image. */
export type LocalImage = {
  readonly id: string;
  readonly repoTags: readonly string[];
  /** Set when the image came from (or went to) a registry. */
  readonly repoDigests: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
};

/** `nginx` → `nginx:latest`; `docker.io/library/nginx:1` → `nginx:1`: how the engine lists tags. */
export function normalizeReference(reference: string): string {
  let name = reference.replace(/^docker\.io\//, "").replace(/^library\//, "");
  if (name.includes("@")) return name;
  const lastSlash = name.lastIndexOf("/");
  if (!name.slice(lastSlash + 1).includes(":")) name = `${name}:latest`;
  return name;
}

/**
 * The local image a reference names, or undefined. Only by name: the engine also resolves a
 * bare hex string as a prefix of some image's id, which would let anyone run any local image by
 * guessing a few characters; such a match counts as "not here".
 */
export async function describeImage(
  docker: DockerClient,
  reference: string,
): Promise<LocalImage | undefined> {
  let info: {
    Id: string;
    RepoTags?: string[] | null;
    RepoDigests?: string[] | null;
    Config?: { Labels?: Record<string, string> | null } | null;
  };
  try {
    info = await withDockerRetry(() => docker.getImage(reference).inspect());
  } catch (error) {
    if (dockerStatus(error).status === 404) return undefined;
    throw error;
  }
  const image: LocalImage = {
    id: info.Id,
    repoTags: info.RepoTags ?? [],
    repoDigests: info.RepoDigests ?? [],
    labels: info.Config?.Labels ?? {},
  };
  const wanted = normalizeReference(reference);
  const named =
    image.repoTags.some((tag) => normalizeReference(tag) === wanted) ||
    image.repoDigests.some((digest) => normalizeReference(digest) === wanted);
  return named ? image : undefined;
}

/** Whether the engine holds the image with this id (`sha256:…`), named or not. */
export async function hasImageId(docker: DockerClient, imageId: string): Promise<boolean> {
  if (!/^sha256:[0-9a-f]{64}$/.test(imageId)) return false;
  try {
    const info = await withDockerRetry(() => docker.getImage(imageId).inspect());
    return info.Id === imageId;
  } catch (error) {
    if (dockerStatus(error).status === 404) return false;
    throw error;
  }
}

/** Credentials for one registry, sent to the engine with a pull (never logged). */
export type RegistryAuth = {
  readonly server: string;
  readonly username: string;
  readonly password: string;
};

/** Pulls a reference; rejects with the engine's message when it cannot (a failed pull is an event). */
export async function pullImage(
  docker: DockerClient,
  reference: string,
  auth?: RegistryAuth,
): Promise<void> {
  const stream = await docker.pull(
    reference,
    auth === undefined
      ? {}
      : {
          authconfig: {
            username: auth.username,
            password: auth.password,
            serveraddress: auth.server,
          },
        },
  );
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: Array<{ error?: string }> | undefined) => {
        const failed = events?.find((event) => typeof event.error === "string");
        if (error !== null) reject(error);
        else if (failed?.error !== undefined) reject(new Error(failed.error));
        else resolve();
      },
    );
  });
}

/** `repository:tag` split at the tag's colon (a registry port's colon is before the last `/`). */
function splitTag(reference: string): { readonly repo: string; readonly tag: string } {
  const colon = reference.lastIndexOf(":");
  if (colon < 0 || colon < reference.lastIndexOf("/")) return { repo: reference, tag: "latest" };
  return { repo: reference.slice(0, colon), tag: reference.slice(colon + 1) };
}

/** Gives a local image a second name (`docker tag`). */
export async function tagImage(
  docker: DockerClient,
  source: string,
  target: string,
): Promise<void> {
  await withDockerRetry(() => docker.getImage(source).tag(splitTag(target)));
}

/** Removes one name of a local image (the image stays while it has others). Best effort. */
export async function untagImage(docker: DockerClient, reference: string): Promise<void> {
  try {
    await docker.getImage(reference).remove({ noprune: true });
  } catch (error) {
    if (dockerStatus(error).status !== 404) throw error;
  }
}

/**
 * Pushes a local `repository:tag` with credentials; resolves with the manifest digest the
 * registry answered (`sha256:…`), rejects with the engine's message (a failed push is an event).
 */
export async function pushImage(
  docker: DockerClient,
  reference: string,
  auth: RegistryAuth | { readonly server: string },
): Promise<string> {
  const { tag } = splitTag(reference);
  const stream = await docker.getImage(reference).push({
    tag,
    authconfig:
      "username" in auth
        ? { username: auth.username, password: auth.password, serveraddress: auth.server }
        : // The engine wants the header even for a registry without auth.
          { serveraddress: auth.server },
  });
  const events = await new Promise<Array<{ error?: string; aux?: { Digest?: string } }>>(
    (resolve, reject) => {
      docker.modem.followProgress(
        stream as NodeJS.ReadableStream,
        (error: Error | null, all: Array<{ error?: string; aux?: { Digest?: string } }>) => {
          if (error !== null) reject(error);
          else resolve(all ?? []);
        },
      );
    },
  );
  const failed = events.find((event) => typeof event.error === "string");
  if (failed?.error !== undefined) throw new Error(failed.error);
  const digest = events.map((event) => event.aux?.Digest).find((value) => value !== undefined);
  if (digest === undefined || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new Error(`the registry answered no digest for ${reference}`);
  }
  return digest;
}
