/** Columns separated by three spaces, padded to the widest cell, like kubectl. Pure. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    headers
      .map((_, column) => (cells[column] ?? "").padEnd(widths[column] ?? 0))
      .join("   ")
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** `45s`, `12m`, `5h`, `3d` since `from`; `<unknown>` without a time. Pure. */
export function formatAge(from: string | null, now: Date): string {
  if (from === null) return "<unknown>";
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(from)) / 1000));
  if (Number.isNaN(seconds)) return "<unknown>";
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7_200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}
