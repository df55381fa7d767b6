/** A date as RFC 3339 text, or null when there is none. */
export function isoOrNull(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null;
}
