import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { labelKeys } from "../domain/labels.ts";
import type { DockerClient } from "./connection.ts";
import { dockerStatus, withDockerRetry } from "./retry.ts";

/** One JSON object of the engine's build stream, as it sends it. */
export type BuildStreamEvent = Readonly<Record<string, unknown>>;

export type BuildRequest = {
  /** A tar stream of the build context. */
  readonly context: Readable;
  readonly tag: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly noCache: boolean;
  /** Aborting closes the connection, and the engine cancels the build (and its RUN container). */
  readonly signal: AbortSignal;
  readonly onEvent: (event: BuildStreamEvent) => void;
};

/** Builds images from a context with the legacy builder, and removes the ones it built. */
export type ImageBuilder = {
  /**
   * Streams a build, handing every event of the engine to `onEvent`, and resolves when the
   * stream ends. A failing step does not reject: it arrives as an event with `error`. Rejects
   * with the signal's reason when aborted, or when the context or the connection fails.
   */
  build(request: BuildRequest): Promise<void>;
  /** The id of the image a reference names locally, or undefined. */
  imageId(reference: string): Promise<string | undefined>;
  /**
   * Removes the images labelled as built for `imageId` by this controller, but `keep`. Without
   * `force`, an image a container still uses stays: `inUse` counts those.
   */
  removeBuilt(
    orchestratorId: string,
    imageId: number,
    options: { readonly keep?: string | undefined; readonly force: boolean },
  ): Promise<{ readonly removed: number; readonly inUse: number }>;
};

function lineEvent(line: string): BuildStreamEvent | undefined {
  const trimmed = line.trim();
  if (trimmed === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed === "object" && parsed !== null) return parsed as BuildStreamEvent;
  } catch {
    // not JSON: keep it as text
  }
  return { stream: `${line}\n` };
}

export function createImageBuilder(docker: DockerClient): ImageBuilder {
  return {
    async build(request) {
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
              rm: true,
              forcerm: true,
              nocache: request.noCache,
              abortSignal: signal,
            } as never,
          )) as unknown as Readable;
        } catch (error) {
          signal.throwIfAborted();
          throw contextError ?? error;
        }
        signal.throwIfAborted();
        const decoder = new StringDecoder("utf8");
        let pending = "";
        const emit = (text: string) => {
          const lines = (pending + text).split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) {
            const event = lineEvent(line);
            if (event !== undefined) request.onEvent(event);
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
      try {
        return (await withDockerRetry(() => docker.getImage(reference).inspect())).Id;
      } catch (error) {
        if (dockerStatus(error).status === 404) return undefined;
        throw error;
      }
    },

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
        if (image.Id === options.keep) continue;
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
