import { Hono } from "hono";
import { z } from "zod";
import type { ApplyDocument } from "../desired/apply.ts";
import type { ImageService } from "../desired/image-service.ts";
import { newImageSchema } from "../domain/image-spec.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { type FieldError, validationProblem } from "./problem.ts";
import { applyResultSchema } from "./schemas/apply-schemas.ts";
import { actingUserId, type UserLookup } from "./tenant.ts";
import { jsonBody, queryParams, zodFieldErrors } from "./validation.ts";

export type ApplyRoutesOptions = {
  readonly images: ImageService;
  readonly users: UserLookup;
  readonly maxInstancesCap: number;
};

const flag = z
  .enum(["0", "1", "true", "false"])
  .transform((value) => value === "1" || value === "true");

const applyQuery = z.strictObject({
  dry_run: flag.optional(),
  prune: flag.optional(),
  allow_empty: flag.optional(),
  user: z.string().optional(),
});

const applyBody = z.strictObject({
  set: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, {
    message: "must be 1-128 letters, digits, '.', '_', '/' or '-'",
  }),
  documents: z.array(z.record(z.string(), z.unknown())).max(5_000),
  allow_empty: z.boolean().optional(),
});

const extras = z.object({
  source_digest: z
    .string()
    .regex(/^[0-9a-f]{64}$/, { message: "must be a sha256 hex digest" })
    .optional(),
  resource_version: z.number().int().min(1).optional(),
});

/**
 * `POST /api/apply`: a whole set of desired-state documents in one round trip, validated
 * together and applied in one transaction; `?dry_run=1` only returns the plan, `?prune=1`
 * deletes what this set created before and no longer names.
 */
export function applyRoutes(options: ApplyRoutesOptions) {
  const app = new Hono<AppEnv>();
  const documentSchema = newImageSchema(options.maxInstancesCap);

  app.post(
    "/",
    documented({
      summary: "Apply a set of desired-state documents in one transaction",
      description:
        "`?dry_run=1` returns the plan only; `?prune=1` deletes what this set created before and no longer names.",
      tags: ["apply"],
      query: applyQuery,
      body: applyBody,
      responses: { 200: { description: "What was (or would be) done", body: applyResultSchema } },
    }),
    async (c) => {
      const query = queryParams(c, applyQuery);
      const body = await jsonBody(c, applyBody);
      const errors: FieldError[] = [];
      const documents: ApplyDocument[] = [];
      for (const [index, raw] of body.documents.entries()) {
        const { source_digest, resource_version, ...spec } = raw;
        const extra = extras.safeParse({ source_digest, resource_version });
        const parsed = documentSchema.safeParse(spec);
        const prefix = `documents[${index}]`;
        if (!extra.success)
          errors.push(
            ...zodFieldErrors(extra.error).map((e) => ({ ...e, path: `${prefix}.${e.path}` })),
          );
        if (!parsed.success) {
          errors.push(
            ...zodFieldErrors(parsed.error).map((e) => ({
              ...e,
              path: e.path ? `${prefix}.${e.path}` : prefix,
            })),
          );
        }
        if (extra.success && parsed.success) {
          if (parsed.data.image === undefined && extra.data.source_digest === undefined) {
            errors.push({
              path: `${prefix}.image`,
              message: "set image (an existing reference) or source_digest (a folder to build)",
            });
            continue;
          }
          documents.push({
            ...parsed.data,
            ...extra.data,
            desiredInstancesWritten: Object.hasOwn(spec, "desired_instances"),
          });
        }
      }
      if (errors.length > 0) throw validationProblem(errors);
      const userId = await actingUserId(c.get("principal"), query.user, options.users);
      const result = await options.images.apply(userId, c.get("principal").actor, {
        set: body.set,
        documents,
        prune: query.prune ?? false,
        allowEmpty: (query.allow_empty ?? false) || (body.allow_empty ?? false),
        dryRun: query.dry_run ?? false,
      });
      if (!result.dry_run) {
        c.get("log").info({ set: result.set, ...result.summary }, "desired state applied");
      }
      return c.json(result);
    },
  );

  return app;
}
