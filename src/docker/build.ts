import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { labelKeys } from "../domain/labels.ts";
import { type BuildLimits, limitBuildKitSteps } from "./build-limits.ts";
import {
  type BuildStreamEvent,
  createBuildKitStreamParser,
  createClassicStreamParser,
  type RawBuildEvent,
} from "./build-stream.ts";
import type { DockerClient } from "./connection.ts";
import {
  describeImage,
  hasImageId,
  type LocalImage,
  pullImage,
  pushImage,
  type RegistryAuth,
  tagImage,
  untagImage,
} from "./images.ts";
import { dockerStatus, withDockerRetry } from "./retry.ts";

export type { BuildStreamEvent } from "./build-stream.ts";

/** BuildKit (the engine's own, through the build API: no buildx, no session) or the classic one. */
export type BuilderKind = "buildkit" | "classic";

export type BuildRequest = {
  /** A tar stream of the build context. */
  readonly context: Readable;
  readonly tag: string;
  /** Set on the image over whatever the Dockerfile's LABELs say. */
  readonly labels: Readonly<Record<string, string>>;
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** The Dockerfile stage to build (`FROM … AS name`); the last one when not given. */
  readonly target?: string | undefined;
  /** `os/arch[/variant]`; the engine's own when not given. */
  readonly platform?: string | undefined;
  /** Memory and CPU of the build's steps. */
  readonly limits: BuildLimits;
  readonly noCache: boolean;
  /** Aborting closes the connection, and the engine cancels the build (and its RUN steps). */
  readonly signal: AbortSignal;
  readonly onEvent: (event: BuildStreamEvent) => void;
};

/** Builds images from a context, and removes the ones it built. */
export type ImageBuilder = {
  /** BuildKit where the engine has it (Linux, API ≥ 1.39), asked once; the classic one elsewhere. */
  kind(): Promise<BuilderKind>;
  /**
   * Why BuildKit's steps run without the memory and CPU limits, once a build found out (the
   * engine is not on this host, or its cgroups cannot be written); undefined otherwise.
   */
  limitsUnavailable(): string | undefined;
  /**
   * Streams a build, handing every event of the engine to `onEvent`, and resolves when the
   * stream ends. A failing step does not reject: it arrives as an event with `error`. Rejects
   * with the signal's reason when aborted, or when the context or the connection fails.
   */
  build(request: BuildRequest): Promise<void>;
  /** The id of the image a reference names locally, or undefined. */
  imageId(reference: string): Promise<string | undefined>;
  /** Whether the engine holds the image with this id (`sha256:…`), named or not. */
  hasImage(dockerImageId: string): Promise<boolean>;
  /** What the engine knows of an image a reference names by name (never by id), or undefined. */
  describe(reference: string): Promise<LocalImage | undefined>;
  /** Pulls a reference (with credentials for its registry when given); rejects with the engine's message. */
  pull(reference: string, auth?: RegistryAuth): Promise<void>;
  /** Gives a local image a second name. */
  tag(source: string, target: string): Promise<void>;
  /** Removes one name of a local image (the image stays under its others). */
  untag(reference: string): Promise<void>;
  /** Pushes a local `repository:tag`; resolves with the registry's manifest digest. */
  push(reference: string, auth: RegistryAuth | { readonly server: string }): Promise<string>;
  /**
   * Removes the images labelled as built for `imageId` by this controller, but those in `keep`. Without
   * `force`, an image a container still uses stays: `inUse` counts those.
   */
  removeBuilt(
    orchestratorId: string,
    imageId: number,
    options: { readonly keep?: readonly string[] | undefined; readonly force: boolean },
  ): Promise<{ readonly removed: number; readonly inUse: number }>;
};

/** BuildKit runs in every Linux engine since 18.09 (API 1.39); Windows engines have none. */
async function detectBuilder(docker: DockerClient): Promise<BuilderKind> {
  const version = (await docker.version()) as { ApiVersion?: string; Os?: string };
  const [major = 0, minor = 0] = (version.ApiVersion ?? "0.0").split(".").map(Number);
  const recent = major > 1 || (major === 1 && minor >= 39);
  return recent && (version.Os ?? "linux") === "linux" ? "buildkit" : "classic";
}

function lineEvent(line: string): RawBuildEvent | undefined {
  const trimmed = line.trim();
  if (trimmed === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed === "object" && parsed !== null) return parsed as RawBuildEvent;
  } catch {
    // not JSON: keep it as text
  }
  return { stream: `${line}\n` };
}

export function createImageBuilder(
  docker: DockerClient,
  options: {
    /** Told once when BuildKit's steps cannot be limited (a remote engine, no root). */
    readonly onLimitsUnavailable?: (reason: string) => void;
    /** Told once which builder the engine offers, when first asked. */
    readonly onDetected?: (kind: BuilderKind) => void;
  } = {},
): ImageBuilder {
  let known: Promise<BuilderKind> | undefined;
  let limitsUnavailable: string | undefined;
  const local = typeof (docker.modem as { socketPath?: unknown }).socketPath === "string";
  /** BuildKit's steps get their limits through the engine's cgroup, when it is on this host. */
  async function limitBuildKit(limits: BuildLimits): Promise<void> {
    if (limitsUnavailable !== undefined) return;
    try {
      if (!local) throw new Error("the engine is not on this host");
      await limitBuildKitSteps(limits);
    } catch (error) {
      limitsUnavailable = (error as Error).message;
      options.onLimitsUnavailable?.(limitsUnavailable);
    }
  }
  const kindOf = () => {
    known ??= detectBuilder(docker).then(
      (kind) => {
        options.onDetected?.(kind);
        return kind;
      },
      (error: unknown) => {
        known = undefined; // the engine is away: ask again next time
        throw error;
      },
    );
    return known;
  };
  return {
    kind: kindOf,
    limitsUnavailable: () => limitsUnavailable,
    async build(request) {
      const kind = await kindOf();
      if (kind === "buildkit") await limitBuildKit(request.limits);
      const { signal } = request;
      signal.throwIfAborted();
      let contextError: unknown;
      let response: Readable | undefined;
      const onContextError = (error: unknown) => {
        contextError = error;
        response?.destroy(error as Error);
      };
      request.context.once("error", onContextError);
      const onAbort = () => {
        request.context.destroy();
        response?.destroy();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        try {
          response = (await docker.buildImage(
            request.context as never,
            {
              t: request.tag,
              labels: { ...request.labels },
              buildargs: { ...request.buildArgs },
              ...(request.target === undefined ? {} : { target: request.target }),
              ...(request.platform === undefined ? {} : { platform: request.platform }),
              rm: true,
              forcerm: true,
              nocache: request.noCache,
              abortSignal: signal,
              // The classic builder limits each step's container itself (BuildKit ignores these).
              memory: request.limits.memoryBytes,
              memswap: request.limits.memoryBytes,
              cpuperiod: 100_000,
              cpuquota: Math.round((request.limits.nanoCpus / 1e9) * 100_000),
              // The number, not the string "2": dockerode opens a session for "2", which only
              // serves registry logins; the context goes in the request body either way.
              ...(kind === "buildkit" ? { version: 2 } : {}),
            } as never,
          )) as unknown as Readable;
        } catch (error) {
          signal.throwIfAborted();
          throw contextError ?? error;
        }
        signal.throwIfAborted();
        const decoder = new StringDecoder("utf8");
        const parser =
          kind === "buildkit" ? createBuildKitStreamParser() : createClassicStreamParser();
        let pending = "";
        const emit = (text: string) => {
          const lines = (pending + text).split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) {
            const event = lineEvent(line);
            if (event === undefined) continue;
            for (const parsed of parser.parse(event)) request.onEvent(parsed);
          }
        };
        try {
          for await (const chunk of response) emit(decoder.write(chunk as Buffer));
        } catch (error) {
          signal.throwIfAborted();
          throw contextError ?? error;
        }
        signal.throwIfAborted();
        if (contextError !== undefined) throw contextError;
        emit(`${decoder.end()}\n`);
      } finally {
        signal.removeEventListener("abort", onAbort);
        request.context.off("error", onContextError);
      }
    },

    async imageId(reference) {
      return (await describeImage(docker, reference))?.id;
    },

    hasImage: (dockerImageId) => hasImageId(docker, dockerImageId),
    describe: (reference) => describeImage(docker, reference),
    pull: (reference, auth) => pullImage(docker, reference, auth),
    tag: (source, target) => tagImage(docker, source, target),
    untag: (reference) => untagImage(docker, reference),
    push: (reference, auth) => pushImage(docker, reference, auth),

    async removeBuilt(orchestratorId, imageId, options) {
      const images = await withDockerRetry(() =>
        docker.listImages({
          all: false,
          filters: {
            label: [`${labelKeys.managedBy}=${orchestratorId}`, `${labelKeys.imageId}=${imageId}`],
          },
        }),
      );
      let removed = 0;
      let inUse = 0;
      for (const image of images) {
        if (options.keep?.includes(image.Id) === true) continue;
        try {
          await withDockerRetry(() => docker.getImage(image.Id).remove({ force: options.force }));
          removed += 1;
        } catch (error) {
          const { status } = dockerStatus(error);
          if (status === 404) continue;
          if (status === 409 && !options.force) {
            inUse += 1;
            continue;
          }
          throw error;
        }
      }
      return { removed, inUse };
    },
  };
}
