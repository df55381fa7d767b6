import type { ParseResult } from "./quantity.ts";

const unitMs: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "10s", "1m", "1h", "1m30s" → milliseconds. */
export function parseDuration(
  input: string | number,
  bounds = { minMs: 0, maxMs: 86_400_000 },
): ParseResult<number> {
  const text = String(input).trim();
  if (!/^(\d+(ms|s|m|h))+$/.test(text)) {
    return { ok: false, message: 'must be a duration like "500ms", "10s", "1m" or "1m30s"' };
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h)/g)) {
    total += Number(amount) * (unitMs[unit as string] ?? 0);
  }
  if (total < bounds.minMs || total > bounds.maxMs) {
    return {
      ok: false,
      message: `must be between ${formatDuration(bounds.minMs)} and ${formatDuration(bounds.maxMs)}`,
    };
  }
  return { ok: true, value: total };
}

/** Milliseconds → the shortest exact form: 90000 → "1m30s". */
export function formatDuration(milliseconds: number): string {
  if (milliseconds === 0) return "0s";
  let rest = milliseconds;
  let text = "";
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as const) {
    const amount = Math.floor(rest / size);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * size;
  }
  return text;
}
