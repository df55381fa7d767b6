/**
 * A positive integer id as text (a path parameter, a query parameter, a label): digits only,
 * no leading zero, and no larger than JavaScript holds exactly (Number.MAX_SAFE_INTEGER). A
 * larger one would round to a different id, and fail the statements that take a list of ids.
 */
export function positiveId(raw: string): number | undefined {
  if (!/^[1-9]\d{0,15}$/.test(raw)) return undefined;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : undefined;
}
