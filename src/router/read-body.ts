import type http from "node:http";
import type { BodyBudget } from "./body-budget.ts";

/** The body is over the per-request limit (413). */
export class BodyTooLarge extends Error {}
/** The router holds as many body bytes as it may, over all requests (503). */
export class BodyBudgetSpent extends Error {}
/** The client's connection ended before its body did. */
export class ClientLeft extends Error {}

/**
 * Reads a request's body into memory, at most `limit` bytes, each chunk taken from `budget`.
 * Resolved, the body's bytes stay taken until the caller gives them back; refused or failed,
 * they are given back here, and the rest of the body is read and dropped.
 */
export function readBody(
  request: http.IncomingMessage,
  limit: number,
  budget: BodyBudget,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const refuse = (error: Error) => {
      if (settled) return;
      settled = true;
      budget.give(size);
      request.removeAllListeners("data");
      request.resume();
      reject(error);
    };
    request.on("data", (chunk: Buffer) => {
      if (size + chunk.length > limit) return refuse(new BodyTooLarge());
      if (!budget.take(chunk.length)) return refuse(new BodyBudgetSpent());
      size += chunk.length;
      chunks.push(chunk);
    });
    request.once("end", () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    request.once("error", () => refuse(new ClientLeft()));
    request.once("close", () => refuse(new ClientLeft()));
  });
}
