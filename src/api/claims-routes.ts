import { Hono } from "hono";
import { z } from "zod";
import { parseDuration } from "../domain/duration.ts";
import { claimKeyPattern, claimKeyRule } from "../domain/pool.ts";
import type { ClaimsService, HeldClaim } from "../pools/claims-service.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { presentInstanceOf } from "./presenters.ts";
import { claimSchema, releasedClaimSchema } from "./schemas/claim-schemas.ts";
import { idParameter, instanceIdParameter, listOf } from "./schemas/common-schemas.ts";
import { instanceSchema } from "./schemas/instance-schemas.ts";
import { scopeOf } from "./tenant.ts";
import { idParam, instanceIdParam, parseJsonText, parseWith, queryParams } from "./validation.ts";

export type ClaimsRoutesOptions = {
  readonly claims: ClaimsService;
  readonly advertiseHost: string;
};

const claimKey = z.string().regex(claimKeyPattern, { message: claimKeyRule });
const claimBody = z.strictObject({ key: claimKey });

/** `10s`, `500ms` or a number of seconds; at most two minutes. */
const waitParam = z
  .string()
  .transform((value, context) => {
    const parsed = parseDuration(/^\d+$/.test(value) ? `${value}s` : value, {
      minMs: 0,
      maxMs: 120_000,
    });
    if (!parsed.ok) {
      context.addIssue({ code: "custom", message: parsed.message });
      return z.NEVER;
    }
    return parsed.value;
  })
  .default(10_000);

const claimQuery = z.strictObject({ wait: waitParam });
const listQuery = z.strictObject({
  image_id: idParameter.transform(Number).optional(),
  key: claimKey.optional(),
});
const imageListQuery = listQuery.omit({ image_id: true });
const releaseQuery = z.strictObject({
  key: claimKey,
  image_id: listQuery.shape.image_id,
});
const renewBody = z.strictObject({
  ttl: z
    .union([z.string(), z.number()])
    .transform((value, context) => {
      const parsed = parseDuration(value, { minMs: 1_000, maxMs: 30 * 24 * 3_600_000 });
      if (!parsed.ok) {
        context.addIssue({ code: "custom", message: parsed.message });
        return z.NEVER;
      }
      return parsed.value;
    })
    .optional(),
});
const claimIdParam = z
  .string()
  .regex(/^[0-9a-f-]{36}$/, { message: "must be a claim id" })
  .describe("a claim id");

function optionalJson(raw: string): unknown {
  return raw.trim().length > 0 ? parseJsonText(raw) : {};
}

/** A claim as clients use it: where the instance answers, and until when it is theirs. */
export function presentClaim({ instance, image }: HeldClaim, host: string) {
  return {
    claim_id: instance.claim_id,
    key: instance.claim_key,
    image_id: image.id,
    user_id: String(instance.user_id),
    instance_id: instance.id,
    container_id: instance.container_id,
    host,
    port: instance.host_port,
    url: instance.host_port === null ? null : `http://${host}:${instance.host_port}`,
    claimed_at: instance.claimed_at?.toISOString() ?? null,
    expires_at: instance.claim_expires_at?.toISOString() ?? null,
  };
}

/** `POST /api/images/{id}/claims`: claim a pooled instance for a key. */
export function imageClaimsRoutes(options: ClaimsRoutesOptions) {
  const app = new Hono<AppEnv>();
  const host = options.advertiseHost;

  app.post(
    "/:id/claims",
    documented({
      summary: "Claim a pooled instance of an image for a key",
      description:
        "The same key gets the same instance back while its claim holds. Waits up to `?wait=` (default 10s, at most 2m) for an idle instance; 503 `pool_exhausted` with Retry-After when none came. The image needs a `pool`.",
      tags: ["pools"],
      params: { id: idParameter },
      query: claimQuery,
      body: claimBody,
      responses: { 200: { description: "The claim", body: claimSchema } },
    }),
    async (c) => {
      const { wait } = queryParams(c, claimQuery);
      const { key } = parseWith(claimBody, optionalJson(await c.req.text()));
      const held = await options.claims.claim(
        scopeOf(c.get("principal")),
        idParam(c, "id"),
        key,
        wait,
      );
      c.get("log").info(
        { imageId: held.image.id, instanceId: held.instance.id, claimId: held.instance.claim_id },
        "claim answered",
      );
      return c.json(presentClaim(held, host));
    },
  );

  app.get(
    "/:id/claims",
    documented({
      summary: "An image's claims (`?key=` for one key's)",
      tags: ["pools"],
      params: { id: idParameter },
      query: imageListQuery,
      responses: { 200: { description: "The claims", body: listOf(claimSchema) } },
    }),
    async (c) => {
      const query = queryParams(c, imageListQuery);
      const listed = await options.claims.listOfImage(
        scopeOf(c.get("principal")),
        idParam(c, "id"),
        query.key,
      );
      return c.json({ items: listed.map((held) => presentClaim(held, host)) });
    },
  );

  return app;
}

/** `/api/claims`: the caller's claims; renew and release. */
export function claimsRoutes(options: ClaimsRoutesOptions) {
  const app = new Hono<AppEnv>();
  const host = options.advertiseHost;

  app.get(
    "/",
    documented({
      summary: "Your claims (`?image_id=`, `?key=` narrow them)",
      tags: ["pools"],
      query: listQuery,
      responses: { 200: { description: "The claims", body: listOf(claimSchema) } },
    }),
    async (c) => {
      const query = queryParams(c, listQuery);
      const listed = await options.claims.list(scopeOf(c.get("principal")), {
        imageId: query.image_id,
        key: query.key,
      });
      return c.json({ items: listed.map((held) => presentClaim(held, host)) });
    },
  );

  app.get(
    "/:id",
    documented({
      summary: "A claim",
      tags: ["pools"],
      params: { id: claimIdParam },
      responses: { 200: { description: "The claim", body: claimSchema } },
    }),
    async (c) => {
      const id = parseWith(claimIdParam, c.req.param("id"));
      return c.json(presentClaim(await options.claims.get(scopeOf(c.get("principal")), id), host));
    },
  );

  app.post(
    "/:id/renew",
    documented({
      summary: "Renew a claim",
      description:
        "Its expiry moves to now + `ttl` (`30m`, or seconds; default the pool's claim_ttl).",
      tags: ["pools"],
      params: { id: claimIdParam },
      body: renewBody,
      responses: { 200: { description: "The renewed claim", body: claimSchema } },
    }),
    async (c) => {
      const id = parseWith(claimIdParam, c.req.param("id"));
      const { ttl } = parseWith(renewBody, optionalJson(await c.req.text()));
      const renewed = await options.claims.renew(scopeOf(c.get("principal")), id, ttl);
      return c.json(presentClaim(renewed, host));
    },
  );

  app.delete(
    "/:id",
    documented({
      summary: "Release a claim",
      description: "The instance goes back to the pool (recycled first when the pool says so).",
      tags: ["pools"],
      params: { id: claimIdParam },
      responses: { 200: { description: "The released claim", body: releasedClaimSchema } },
    }),
    async (c) => {
      const id = parseWith(claimIdParam, c.req.param("id"));
      const released = await options.claims.release(scopeOf(c.get("principal")), id);
      return c.json({ ...presentClaim(released, host), released: true });
    },
  );

  /** By key: `DELETE /api/claims?key=K` (on each of the caller's images, or `image_id`'s). */
  app.delete(
    "/",
    documented({
      summary: "Release a key's claims",
      description: "On each of your images, or only `image_id`'s.",
      tags: ["pools"],
      query: releaseQuery,
      responses: {
        200: { description: "The released claims", body: listOf(releasedClaimSchema) },
      },
    }),
    async (c) => {
      const query = queryParams(c, releaseQuery);
      const released = await options.claims.releaseByKey(
        scopeOf(c.get("principal")),
        query.key,
        query.image_id,
      );
      return c.json({
        items: released.map((held) => ({ ...presentClaim(held, host), released: true })),
      });
    },
  );

  return app;
}

/** `POST /api/containers/{id}/destroy`: one instance removed for good; the pool refills. */
export function destroyRoutes(options: ClaimsRoutesOptions) {
  const app = new Hono<AppEnv>();
  app.post(
    "/:id/destroy",
    documented({
      summary: "Remove an instance for good",
      description: "Its claim, if any, ends; a pool refills to its min_idle.",
      tags: ["containers", "pools"],
      params: { id: instanceIdParameter },
      responses: { 202: { description: "Removal requested", body: instanceSchema } },
    }),
    async (c) => {
      const destroyed = await options.claims.destroy(
        scopeOf(c.get("principal")),
        instanceIdParam(c, "id"),
      );
      return c.json(presentInstanceOf(destroyed, options.advertiseHost), 202);
    },
  );
  return app;
}
