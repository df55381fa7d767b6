import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter } from "yaml";

export type Position = { readonly line: number; readonly column: number };

/** Where to point for a field path: at its key (unknown fields) or at its value (bad values). */
export type PositionTarget = "key" | "value";

function startOf(node: unknown): number | undefined {
  const range = (node as { range?: readonly number[] | null } | null)?.range;
  return range?.[0];
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * The offset of the node a field path names. When the path goes further than the document
 * (a missing field), the deepest map or sequence that exists: the parent map.
 */
export function offsetOf(
  document: Document,
  path: readonly (string | number)[],
  target: PositionTarget,
): number {
  let node: unknown = document.contents;
  let offset = startOf(node) ?? 0;
  for (const [index, segment] of path.entries()) {
    const collection = isAlias(node) ? node.resolve(document) : node;
    if (isMap(collection)) {
      const pair = collection.items.findLast((item) => keyText(item.key) === String(segment));
      if (pair === undefined) return offset;
      if (index === path.length - 1 && target === "key") return startOf(pair.key) ?? offset;
      node = pair.value;
      offset = startOf(pair.value) ?? startOf(pair.key) ?? offset;
    } else if (isSeq(collection) && typeof segment === "number") {
      const item = collection.items[segment];
      if (item === undefined) return offset;
      node = item;
      offset = startOf(item) ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

export function positionOf(
  document: Document,
  lineCounter: LineCounter,
  path: readonly (string | number)[],
  target: PositionTarget,
): Position {
  const { line, col } = lineCounter.linePos(offsetOf(document, path, target));
  return { line, column: col };
}
