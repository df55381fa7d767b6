import { z } from "zod";
import { formatDuration, parseDuration } from "./duration.ts";

/**
 * A duration field of a spec ("90s", "1m30s", or seconds as a number) within bounds, stored in
 * its canonical form (formatDuration), so that equal durations compare and hash equal.
 */
export function durationSchema(bounds: { readonly minMs: number; readonly maxMs: number }) {
  return z.union([z.string(), z.number()]).transform((value, context) => {
    const parsed = parseDuration(value, bounds);
    if (!parsed.ok) {
      context.addIssue({ code: "custom", message: parsed.message });
      return z.NEVER;
    }
    return formatDuration(parsed.value);
  });
}
