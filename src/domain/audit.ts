/** One audit record: what changed (old → new), on whose resource. Who and when are added. */
export type AuditEntry = {
  /** What was done, e.g. `image.update`, `instance.stop`, `token.create`. */
  readonly action: string;
  /** The user whose resource changed. */
  readonly userId: number | null;
  readonly imageId: number | null;
  /** What changed, as a path: `images/42`, `tokens/7`, `users/alice`. */
  readonly target: string;
  readonly old: Readonly<Record<string, unknown>> | null;
  readonly new: Readonly<Record<string, unknown>> | null;
};

type Fields = Readonly<Record<string, unknown>>;

function same(left: unknown, right: unknown): boolean {
  if (left instanceof Date || right instanceof Date) {
    return left instanceof Date && right instanceof Date && left.getTime() === right.getTime();
  }
  return JSON.stringify(left) === JSON.stringify(right);
}

/** The named fields whose values differ between `before` and `after`, each side's values. Pure. */
export function changedFields(
  before: Fields,
  after: Fields,
  fields: readonly string[],
): { readonly old: Record<string, unknown>; readonly new: Record<string, unknown> } {
  const old: Record<string, unknown> = {};
  const changed: Record<string, unknown> = {};
  for (const field of fields) {
    if (same(before[field], after[field])) continue;
    old[field] = before[field] ?? null;
    changed[field] = after[field] ?? null;
  }
  return { old, new: changed };
}
