import { z } from "zod";
import { type ProblemCode, problemCodes } from "../problem.ts";

export const problemCodeNames = Object.keys(problemCodes) as [ProblemCode, ...ProblemCode[]];

/** One refused field; without `path` the problem is with the body (or the form) as a whole. */
export const fieldErrorSchema = z.strictObject({
  path: z.string().optional(),
  message: z.string(),
});

/** RFC 9457 problem details, as every refusal answers; extensions (quota's `limit`…) may follow. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: z.enum(problemCodeNames),
    errors: z.array(fieldErrorSchema).optional(),
    request_id: z.string().optional(),
  })
  .catchall(z.unknown());

export type Problem = z.output<typeof problemSchema>;
