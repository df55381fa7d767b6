/**
 * The NUL character (U+0000) in input. Postgres stores it in neither text nor jsonb, so input
 * that holds it is refused with the path of each place, before anything is written. Pure.
 */

export type NulFinding = {
  /** Where: object keys and array indexes from the root. */
  readonly path: ReadonlyArray<string | number>;
  /** The NUL is in the key at `path` rather than in its value. */
  readonly inKey: boolean;
};

export const nulMessage = "must not contain the NUL character (\\u0000)";

/** Every place in a JSON-like value whose string (or key) holds a NUL, up to `limit` of them. */
export function findNul(value: unknown, limit = 20): NulFinding[] {
  const found: NulFinding[] = [];
  const visit = (node: unknown, path: ReadonlyArray<string | number>, depth: number) => {
    if (found.length >= limit || depth > 64) return;
    if (typeof node === "string") {
      if (node.includes("\u0000")) found.push({ path, inKey: false });
    } else if (Array.isArray(node)) {
      for (const [index, item] of node.entries()) visit(item, [...path, index], depth + 1);
    } else if (node !== null && typeof node === "object") {
      for (const [key, item] of Object.entries(node)) {
        if (key.includes("\u0000")) found.push({ path: [...path, key], inKey: true });
        visit(item, [...path, key], depth + 1);
      }
    }
  };
  visit(value, [], 0);
  return found;
}
