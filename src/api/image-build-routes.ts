import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import type { BuildPipeline } from "../builds/build-pipeline.ts";
import { isTruncatedLog } from "../builds/log-keeper.ts";
import type { ImageService } from "../desired/image-service.ts";
import type { ImageRecord } from "../store/records.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { presentImage } from "./presenters.ts";
import { idParameter } from "./schemas/common-schemas.ts";
import { buildLogsSchema, imageSchema } from "./schemas/image-schemas.ts";
import { scopeOf } from "./tenant.ts";
import { idParam, queryParams } from "./validation.ts";

export type BuildRoutesOptions = {
  readonly images: ImageService;
  readonly builds: BuildPipeline;
  /** Aborted at shutdown: open streams end. */
  readonly shutdown: AbortSignal;
};

const logsQuery = z.strictObject({ follow: z.enum(["0", "1", "true", "false"]).optional() });

/** The most of a log one response carries; longer ones keep their head and tail. */
const maxLogResponseBytes = 4 * 1024 * 1024;
/** Followers look at the database at most this often, and at the log at least this often. */
const minPollMs = 100;
const maxPollMs = 1_000;
const keepAliveMs = 15_000;
const maxPartialChars = 64 * 1024;

/** Whether the image's current build (if any) has ended, so there is nothing more to follow. */
function buildOver(image: ImageRecord): boolean {
  if (image.status === "pending" || image.status === "building") return image.source_path === null;
  return true;
}

/**
 * `POST /api/images/{id}/rebuild` and `GET /api/images/{id}/build-logs` (`?follow=1` streams
 * the log as Server-Sent Events until the build ends: `log` events of one line each, then one
 * `end` event with the outcome).
 */
export function imageBuildRoutes(options: BuildRoutesOptions) {
  const { builds } = options;
  const app = new Hono<AppEnv>();

  app.post(
    "/:id/rebuild",
    documented({
      summary: "Build an uploaded image again from its kept source",
      tags: ["images", "builds"],
      params: { id: idParameter },
      responses: { 202: { description: "Build requested", body: imageSchema } },
    }),
    async (c) => {
      const image = await builds.sources.rebuild(scopeOf(c.get("principal")), idParam(c, "id"));
      c.get("log").info({ imageId: image.id }, "rebuild requested");
      return c.json(presentImage(image, { buildAccepted: true }), 202);
    },
  );

  app.get(
    "/:id/build-logs",
    documented({
      summary: "An image's build log; `?follow=1` streams it (SSE) until the build ends",
      description:
        "Streamed: `log` events of one line each, `build` when a newer build replaces the one followed, then one `end` event with the outcome.",
      tags: ["images", "builds"],
      params: { id: idParameter },
      query: logsQuery,
      responses: { 200: { description: "The log (JSON), or the stream", body: buildLogsSchema } },
    }),
    async (c) => {
      const query = queryParams(c, logsQuery);
      const image = await options.images.get(scopeOf(c.get("principal")), idParam(c, "id"));
      const { build } = await builds.current(image.id);
      const generation = build?.generation ?? 0;

      if (query.follow !== "1" && query.follow !== "true") {
        const file = await builds.logs.readAll(image.id, generation, maxLogResponseBytes);
        return c.json({
          image_id: image.id,
          status: image.status,
          build_generation: generation,
          trigger: build?.trigger ?? null,
          failure_reason: image.status === "build_failed" ? (build?.failure_reason ?? null) : null,
          error: image.status === "build_failed" ? (build?.error ?? null) : null,
          started_at: image.build_started_at?.toISOString() ?? null,
          finished_at: image.build_finished_at?.toISOString() ?? null,
          // The file holds the whole log; the database only its head and tail.
          build_logs: file?.text ?? image.build_logs ?? "",
          logs: file?.text ?? image.build_logs ?? "",
          truncated: file?.truncated ?? isTruncatedLog(image.build_logs ?? ""),
        });
      }

      return streamSSE(c, async (stream) => {
        let current: ImageRecord | undefined = image;
        let following = generation;
        let offset = 0;
        let partial = "";
        let sentFromFile = false;
        let wake: (() => void) | undefined;
        const unsubscribe = builds.logs.onChange(image.id, () => wake?.());
        const abort = () => wake?.();
        options.shutdown.addEventListener("abort", abort);
        stream.onAbort(abort);

        const sendLines = async (text: string, final: boolean) => {
          const lines = (partial + text).split("\n");
          partial = final ? "" : (lines.pop() ?? "");
          // A line that never ends is sent in pieces rather than held without bound.
          if (partial.length > maxPartialChars) {
            lines.push(partial);
            partial = "";
          }
          for (const line of final && lines.at(-1) === "" ? lines.slice(0, -1) : lines) {
            await stream.writeSSE({ event: "log", data: line.replace(/\r/g, "") });
          }
        };
        /** Sends what the file gained since the last look. */
        const catchUp = async () => {
          for (;;) {
            const chunk = await builds.logs.read(image.id, following, offset);
            if (chunk.data.length === 0) return;
            sentFromFile = true;
            offset += chunk.data.length;
            await sendLines(chunk.data.toString("utf8"), false);
          }
        };

        let lastKeepAlive = Date.now();
        try {
          while (!stream.aborted && !options.shutdown.aborted) {
            const started = Date.now();
            const now = await builds.current(image.id);
            current = now.image;
            if (current === undefined) break;
            const latest = now.build?.generation ?? following;
            if (latest !== following) {
              // A newer build replaced the one followed: go on with its log.
              await sendLines("", true);
              following = latest;
              offset = 0;
              await stream.writeSSE({
                event: "build",
                data: JSON.stringify({ build_generation: latest }),
              });
            }
            // The log file is complete before the status says the build ended.
            await catchUp();
            if (buildOver(current)) break;
            await new Promise<void>((resolve) => {
              wake = resolve;
              setTimeout(resolve, maxPollMs).unref();
            });
            wake = undefined;
            const elapsed = Date.now() - started;
            if (elapsed < minPollMs)
              await new Promise((resolve) => setTimeout(resolve, minPollMs - elapsed));
            if (Date.now() - lastKeepAlive > keepAliveMs) {
              lastKeepAlive = Date.now();
              await stream.write(": keep-alive\n\n");
            }
          }
          if (stream.aborted || options.shutdown.aborted) return;
          await sendLines("", true);
          if (!sentFromFile && current?.build_logs) await sendLines(current.build_logs, true);
          const { build } = await builds.current(image.id);
          await stream.writeSSE({
            event: "end",
            data: JSON.stringify({
              status: current?.status ?? "deleted",
              failure_reason:
                current?.status === "build_failed" ? (build?.failure_reason ?? null) : null,
              error: current?.status === "build_failed" ? (build?.error ?? null) : null,
            }),
          });
        } finally {
          unsubscribe();
          options.shutdown.removeEventListener("abort", abort);
        }
      });
    },
  );
  return app;
}
