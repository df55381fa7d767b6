import { Readable } from "node:stream";
import { Hono } from "hono";
import { stream } from "hono/streaming";
import { z } from "zod";
import type { ImageService } from "../desired/image-service.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import type { ContainerLogs } from "./ports.ts";
import { ProblemError } from "./problem.ts";
import { instanceIdParameter } from "./schemas/common-schemas.ts";
import { scopeOf } from "./tenant.ts";
import { instanceIdParam, queryParams } from "./validation.ts";

export type ContainerLogsOptions = {
  readonly images: ImageService;
  readonly logs: ContainerLogs;
  /** Aborted at shutdown: open streams end. */
  readonly shutdown: AbortSignal;
};

const logsQuery = z.strictObject({
  tail: z
    .string()
    .regex(/^\d{1,6}$/, { message: "must be a number of lines" })
    .transform(Number)
    .optional(),
  since: z.iso
    .datetime({ offset: true, message: "must be an RFC 3339 time" })
    .transform((value) => new Date(value))
    .optional()
    .describe("only lines written at or after this time"),
  follow: z.enum(["0", "1", "true", "false"]).optional(),
});

/**
 * `/api/containers/{id}/logs`: the last lines (`?since=` an RFC 3339 time: only newer ones), or
 * followed as they come with `?follow=1`.
 */
export function containerLogsRoutes(options: ContainerLogsOptions) {
  const app = new Hono<AppEnv>();

  app.get(
    "/:id/logs",
    documented({
      summary: "An instance's container output (`?follow=1` streams it)",
      tags: ["containers"],
      params: { id: instanceIdParameter },
      query: logsQuery,
      responses: { 200: { description: "The last lines, as text", media: "text/plain" } },
    }),
    async (c) => {
      const query = queryParams(c, logsQuery);
      const { instance } = await options.images.getInstance(
        scopeOf(c.get("principal")),
        instanceIdParam(c, "id"),
      );
      const tail = query.tail ?? 200;
      if (instance.container_id === null) return c.text("", 200);
      if (query.follow !== "1" && query.follow !== "true") {
        return c.text(await options.logs.tail(instance.container_id, tail, query.since), 200);
      }
      const abort = new AbortController();
      const stop = () => abort.abort();
      options.shutdown.addEventListener("abort", stop);
      const logs = await options.logs.follow(instance.container_id, {
        tail,
        signal: abort.signal,
        ...(query.since === undefined ? {} : { since: query.since }),
      });
      if (logs === undefined) {
        options.shutdown.removeEventListener("abort", stop);
        throw new ProblemError(
          "not_found",
          `container ${instance.id} is gone from the engine; the controller replaces it`,
        );
      }
      c.header("content-type", "text/plain; charset=utf-8");
      return stream(c, async (output) => {
        output.onAbort(stop);
        try {
          for await (const chunk of Readable.from(logs)) {
            await output.write(chunk as Uint8Array);
          }
        } finally {
          options.shutdown.removeEventListener("abort", stop);
          stop();
        }
      });
    },
  );

  return app;
}
