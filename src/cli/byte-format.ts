/** `512 B`, `12.3 KiB`, `4.0 MiB`. Pure. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** `3.2 MiB/s` for `bytes` sent in `milliseconds` (0 ms: no rate yet). Pure. */
export function formatRate(bytes: number, milliseconds: number): string {
  if (milliseconds <= 0) return "-";
  return `${formatBytes(Math.round((bytes * 1000) / milliseconds))}/s`;
}

/** `[#####.....]  50%  2.0 MiB / 4.0 MiB  1.1 MiB/s`: an upload's progress, for a terminal. Pure. */
export function uploadProgressLine(
  name: string,
  sent: number,
  total: number,
  milliseconds: number,
): string {
  const fraction = total === 0 ? 1 : Math.min(1, sent / total);
  const filled = Math.round(fraction * 20);
  const bar = `[${"#".repeat(filled)}${".".repeat(20 - filled)}]`;
  return `↑ ${name} ${bar} ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatBytes(sent)} / ${formatBytes(total)}  ${formatRate(sent, milliseconds)}`;
}
