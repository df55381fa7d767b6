import { z } from "zod";
import { imageName, specFieldNames } from "../../domain/image-spec.ts";

/**
 * The form of a multipart upload: `name`, the archive in `file`, and any spec field as text
 * (numbers as digits, objects and arrays as JSON); validated as the JSON fields are.
 */
export const uploadFormSchema = z.object({
  name: imageName,
  file: z
    .string()
    .meta({ contentMediaType: "application/octet-stream" })
    .describe("a .zip, .tar or .tar.gz holding a Dockerfile"),
  ...Object.fromEntries(
    specFieldNames
      .filter((field) => field !== "image")
      .map((field) => [field, z.string().optional().describe(`the spec's ${field}, as text`)]),
  ),
});

/** `PUT /api/images/{id}/source`: the archive in `file`. */
export const sourceFormSchema = z.object({
  file: z.string().meta({ contentMediaType: "application/octet-stream" }),
});
