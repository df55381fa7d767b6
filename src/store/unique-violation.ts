/** Whether a driver error is Postgres' unique_violation (23505) on the named constraint. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const candidate = error as
    | { code?: unknown; constraint?: unknown; constraint_name?: unknown; detail?: unknown }
    | undefined;
  if (candidate?.code !== "23505") return false;
  // postgres.js names it `constraint_name`, PGlite `constraint`.
  const name = candidate.constraint_name ?? candidate.constraint;
  return name === undefined || name === constraint;
}
