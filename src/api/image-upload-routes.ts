import { Readable } from "node:stream";
import { type Context, Hono, type Next } from "hono";
import type { BuildPipeline } from "../builds/build-pipeline.ts";
import { createStaging, extractStaged, type Staging } from "../builds/source-staging.ts";
import type { ImageService } from "../desired/image-service.ts";
import { imagePatchSchema, newImageSchema } from "../domain/image-spec.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { presentImage } from "./presenters.ts";
import { ProblemError, validationProblem } from "./problem.ts";
import { registerReference } from "./register-reference.ts";
import { idParameter } from "./schemas/common-schemas.ts";
import { imageSchema } from "./schemas/image-schemas.ts";
import { sourceFormSchema, uploadFormSchema } from "./schemas/upload-schemas.ts";
import { actingUserOf, scopeOf, type UserLookup, userQuery } from "./tenant.ts";
import {
  type BodySource,
  multipartOverheadBytes,
  type ReceivedFile,
  receiveMultipart,
  receiveRawBody,
  refuseDeclaredLength,
} from "./upload-body.ts";
import { presentFieldErrors, specInputOfForm } from "./upload-fields.ts";
import { refuseUpload } from "./upload-problems.ts";
import { idParam, parseWith } from "./validation.ts";

export type UploadRoutesOptions = {
  readonly images: ImageService;
  readonly users: UserLookup;
  readonly builds: BuildPipeline;
  readonly maxInstancesCap: number;
};

/** Content types of an archive sent as the whole body; its format is told by its bytes. */
const rawArchiveTypes =
  /^application\/(gzip|x-gzip|x-tar|tar|x-gtar|tar\+gzip|zip|x-zip-compressed|octet-stream)\s*(;|$)/i;

const fileRequired = "required: a .zip, .tar or .tar.gz holding a Dockerfile";

/** The body, and the Node request under it when the Node server runs the app. */
function bodyOf(c: Context<AppEnv>): BodySource {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return {
    request: c.req.raw,
    incoming: incoming instanceof Readable ? incoming : undefined,
  };
}

function digestHeader(c: Context<AppEnv>): string | undefined {
  const value = c.req.header("x-source-digest")?.trim().toLowerCase();
  if (value === undefined || value === "") return undefined;
  if (!/^[0-9a-f]{64}$/.test(value)) {
    throw validationProblem([{ path: "x-source-digest", message: "must be a sha256 hex digest" }]);
  }
  return value;
}

/**
 * Uploads of source: `POST /api/images` as multipart/form-data (a new image, or a new source
 * for an existing one of that name; JSON falls through to images-routes.ts) and
 * `PUT /api/images/{id}/source`. The body streams to a staging folder, is checked and
 * extracted there, and only then touches the database and the image's folder, so a refused
 * upload leaves nothing behind.
 */
export function imageUploadRoutes(options: UploadRoutesOptions) {
  const app = new Hono<AppEnv>();
  const { builds } = options;
  const createSchema = newImageSchema(options.maxInstancesCap);
  const extractLimits = {
    maxBytes: builds.limits.extractMaxBytes,
    maxEntries: builds.limits.extractMaxEntries,
  };
  const extract = (staging: Staging, file: ReceivedFile) => {
    if (file.bytes === 0) {
      throw validationProblem([{ path: "file", message: "is empty" }]);
    }
    return extractStaged(staging, file, extractLimits);
  };

  /** Runs `handle` with a staging folder that is always removed, refusing problems cleanly. */
  async function staged(
    c: Context<AppEnv>,
    handle: (staging: Staging) => Promise<Response>,
  ): Promise<Response> {
    const staging = await createStaging(builds.paths);
    try {
      return await handle(staging);
    } catch (error) {
      return refuseUpload(c, error);
    } finally {
      await staging.discard();
    }
  }

  /** `POST /api/images` with multipart/form-data; anything else is for the JSON route. */
  app.post(
    "/",
    documented({
      summary: "Upload source to build an image (multipart/form-data)",
      description:
        "A new image, or a new source for your image of that name. Answers 202 with status `building`: the build is requested (the image shows `pending` until a builder takes it, then `building`). JSON bodies register an existing image instead.",
      tags: ["images", "builds"],
      multipart: uploadFormSchema,
      query: userQuery,
      responses: {
        201: {
          description: "Registered (a form without `file` naming `image`)",
          body: imageSchema,
        },
        202: { description: "Accepted: the build is requested", body: imageSchema },
      },
    }),
    async (c: Context<AppEnv>, next: Next) => {
      if (!/^multipart\/form-data/i.test(c.req.header("content-type") ?? "")) return next();
      let userId: number;
      try {
        refuseDeclaredLength(c.req.raw, builds.limits.uploadMaxBytes + multipartOverheadBytes);
        userId = await actingUserOf(c, options.users);
      } catch (error) {
        return refuseUpload(c, error);
      }
      return staged(c, async (staging) => {
        const form = await receiveMultipart(bodyOf(c), staging.uploadFile, {
          maxBytes: builds.limits.uploadMaxBytes,
          fileField: "file",
          beforeFile: (fields) => {
            const errors = presentFieldErrors(fields);
            if (errors.length > 0) throw validationProblem(errors);
          },
        });
        const { input, errors } = specInputOfForm(form.fields);
        if (errors.length > 0) throw validationProblem(errors);
        const log = c.get("log");

        if (form.file === undefined) {
          if (input.image === undefined) {
            throw new ProblemError(
              "validation_failed",
              "send `file` (a .zip, .tar or .tar.gz holding a Dockerfile) or `image` (an existing image reference)",
              { errors: [{ path: "file", message: fileRequired }] },
            );
          }
          return registerReference(c, options.images, userId, parseWith(createSchema, input));
        }
        if (input.image !== undefined) {
          throw validationProblem([
            {
              path: "image",
              message: "send either image (an existing reference) or file, not both",
            },
          ]);
        }

        const existing =
          typeof input.name === "string"
            ? await options.images.findByName(userId, input.name)
            : undefined;
        if (existing === undefined) {
          const spec = parseWith(createSchema, input);
          const source = await extract(staging, form.file);
          const image = await builds.sources.createImage(
            userId,
            c.get("principal").actor,
            spec,
            source,
          );
          log.info(
            { imageId: image.id, name: image.name, bytes: source.bytes, format: source.format },
            "source uploaded",
          );
          return c.json(presentImage(image, { buildAccepted: true }), 202, {
            location: `/api/images/${image.id}`,
          });
        }
        if (existing.source_type !== "upload") {
          throw new ProblemError(
            "name_taken",
            `an image named ${existing.name} already exists (id ${existing.id}) and runs the existing image ${existing.image_reference}: choose another name`,
            { extensions: { image_id: existing.id } },
          );
        }
        // The same name again: a new source, and the fields sent change the spec (as a PATCH).
        const { name: _name, ...fields } = input;
        const patch = parseWith(imagePatchSchema, fields);
        const source = await extract(staging, form.file);
        const scope = { userId, actor: c.get("principal").actor };
        if (Object.keys(patch).length > 0) await options.images.patch(scope, existing.id, patch);
        const image = await builds.sources.replaceSource(scope, existing.id, source, "upload");
        log.info(
          { imageId: image.id, name: image.name, bytes: source.bytes, format: source.format },
          "source replaced",
        );
        return c.json(presentImage(image, { buildAccepted: true }), 202, {
          location: `/api/images/${image.id}`,
        });
      });
    },
  );

  /** `PUT /api/images/{id}/source`: multipart (`file`) or the archive as the body. */
  app.put(
    "/:id/source",
    documented({
      summary: "Replace an uploaded image's source and rebuild",
      description:
        "Multipart (`file`), or the archive as the body (application/gzip, application/x-tar, application/zip); `X-Source-Digest` checks it.",
      tags: ["images", "builds"],
      params: { id: idParameter },
      multipart: sourceFormSchema,
      headers: { "X-Source-Digest": "the sha256 the archive must have" },
      responses: { 202: { description: "Accepted: the build is requested", body: imageSchema } },
    }),
    async (c) => {
      const scope = scopeOf(c.get("principal"));
      const contentType = c.req.header("content-type") ?? "";
      let expectedDigest: string | undefined;
      try {
        const imageId = idParam(c, "id");
        expectedDigest = digestHeader(c);
        const image = await options.images.get(scope, imageId);
        if (image.source_type !== "upload") {
          throw new ProblemError(
            "conflict",
            `image ${image.id} runs the existing image ${image.image_reference}; it is not built from source`,
          );
        }
        if (image.status === "deleting") {
          throw new ProblemError("conflict", `image ${image.id} is being deleted`);
        }
        const multipart = /^multipart\/form-data/i.test(contentType);
        if (!multipart && !rawArchiveTypes.test(contentType)) {
          throw new ProblemError(
            "unsupported_media_type",
            "send the archive as multipart/form-data (field `file`), or as the body with content-type application/gzip, application/x-tar or application/zip",
          );
        }
      } catch (error) {
        return refuseUpload(c, error);
      }
      const imageId = Number(c.req.param("id"));
      return staged(c, async (staging) => {
        let file: ReceivedFile | undefined;
        if (/^multipart\/form-data/i.test(contentType)) {
          const form = await receiveMultipart(bodyOf(c), staging.uploadFile, {
            maxBytes: builds.limits.uploadMaxBytes,
            fileField: "file",
            beforeFile: (fields) => {
              const unknown = [...fields.keys()];
              if (unknown.length > 0) {
                throw validationProblem(
                  unknown.map((name) => ({
                    path: name,
                    message:
                      "unknown field: this route takes only `file` (change the spec with PATCH)",
                  })),
                );
              }
            },
          });
          const extra = [...form.fields.keys()];
          if (extra.length > 0) {
            throw validationProblem(
              extra.map((name) => ({
                path: name,
                message: "unknown field: this route takes only `file`",
              })),
            );
          }
          file = form.file;
          if (file === undefined)
            throw validationProblem([{ path: "file", message: fileRequired }]);
        } else {
          file = await receiveRawBody(bodyOf(c), staging.uploadFile, builds.limits.uploadMaxBytes);
        }
        if (expectedDigest !== undefined && expectedDigest !== file.digest) {
          throw validationProblem([
            {
              path: "x-source-digest",
              message: `the upload's sha256 is ${file.digest}, not ${expectedDigest}: it was changed on the way`,
            },
          ]);
        }
        const source = await extract(staging, file);
        const image = await builds.sources.replaceSource(scope, imageId, source, "source");
        c.get("log").info(
          { imageId: image.id, bytes: source.bytes, format: source.format },
          "source replaced",
        );
        return c.json(presentImage(image, { buildAccepted: true }), 202);
      });
    },
  );

  return app;
}
