import { z } from "zod";
import { positiveId } from "../../domain/ids.ts";

/** An RFC 3339 time as the API writes it (`Date#toISOString`). */
export const timestamp = z.iso.datetime({ offset: true });
export const nullableTimestamp = timestamp.nullable();

/** Ids of users travel as strings (they are bigints in the database). */
export const userId = z.string().regex(/^\d+$/);

/** A positive integer id in a path (`/api/images/{id}`) or a query (`?image_id=`). */
export const idParameter = z
  .string()
  .regex(/^[1-9]\d{0,15}$/, { message: "must be a positive integer id" })
  .refine((raw) => positiveId(raw) !== undefined, "must be a positive integer id")
  .describe("a positive integer id");

/** An instance (container) id in a path. */
export const instanceIdParameter = z
  .string()
  .regex(/^[0-9a-z]{1,64}$/)
  .describe("an instance (container) id");

/** `?follow=1` and friends. */
export const flagParameter = z.enum(["0", "1", "true", "false"]);

/** A page of items. */
export const listOf = <Item extends z.ZodType>(item: Item) =>
  z.strictObject({ items: z.array(item) });
