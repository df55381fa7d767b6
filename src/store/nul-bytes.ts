import {
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type PrimitiveValueListNode,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  type ValueNode,
} from "kysely";

/**
 * Postgres refuses the NUL character in text and in jsonb, so a NUL in a container's output, a
 * build log or an engine error would fail the write that records it (and its event with it).
 * Input is refused with 422 at the API; whatever text comes from elsewhere loses its NULs here,
 * on the way into a column.
 */
export function withoutNul(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "") : text;
}

/** A value with NULs removed from every string in it, keys included (for jsonb). */
export function withoutNulDeep(value: unknown): unknown {
  if (typeof value === "string") return withoutNul(value);
  if (Array.isArray(value)) return value.map(withoutNulDeep);
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [withoutNul(key), withoutNulDeep(item)]),
    );
  }
  return value;
}

class StripNulTransformer extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    return typeof node.value === "string" && node.value.includes("\u0000")
      ? { ...node, value: withoutNul(node.value) }
      : node;
  }

  protected override transformPrimitiveValueList(
    node: PrimitiveValueListNode,
  ): PrimitiveValueListNode {
    return node.values.some((value) => typeof value === "string" && value.includes("\u0000"))
      ? {
          ...node,
          values: node.values.map((value) =>
            typeof value === "string" ? withoutNul(value) : value,
          ),
        }
      : node;
  }
}

/**
 * Removes NULs from the string parameters of every INSERT and UPDATE, so no write fails on one.
 * Reads are left alone: a lookup must never match a different value than it was given.
 */
export class StripNulPlugin implements KyselyPlugin {
  readonly #transformer = new StripNulTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const { node } = args;
    if (node.kind !== "InsertQueryNode" && node.kind !== "UpdateQueryNode") return node;
    return this.#transformer.transformNode(node, args.queryId);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
