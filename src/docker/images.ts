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
