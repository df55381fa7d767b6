/**
 * CPU and memory quantities as users write them, parsed to the units Docker takes
 * (NanoCpus, bytes) and formatted back canonically so that equal values compare equal.
 */

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

const nanoPerCore = 1_000_000_000;
export const cpuBounds = { minNano: 10_000_000, maxNano: 256 * nanoPerCore } as const;

/**
 * "0.5", "500m", "1", 2 → NanoCpus. Docker's floor is 0.01 CPU; a container's ceiling is 256
 * cores (quotas, which sum many containers, pass their own bounds).
 */
export function parseCpu(
  input: string | number,
  bounds: { readonly minNano: number; readonly maxNano: number } = cpuBounds,
): ParseResult<number> {
  const text = String(input).trim();
  const millicores = /^(\d+)m$/.exec(text);
  const cores = /^(\d+(?:\.\d{1,9})?|\.\d{1,9})$/.exec(text);
  let nano: number;
  if (millicores?.[1] !== undefined) nano = Number(millicores[1]) * 1_000_000;
  else if (cores?.[1] !== undefined) nano = Math.round(Number(cores[1]) * nanoPerCore);
  else return { ok: false, message: 'must be cores ("0.5", "2") or millicores ("500m")' };
  if (nano < bounds.minNano)
    return {
      ok: false,
      message: `must be at least ${formatCpu(bounds.minNano)}${bounds === cpuBounds ? " (10m)" : ""}`,
    };
  if (nano > bounds.maxNano)
    return { ok: false, message: `must be at most ${formatCpu(bounds.maxNano)} cores` };
  return { ok: true, value: nano };
}

/** NanoCpus → the shortest exact decimal number of cores: 500000000 → "0.5". */
export function formatCpu(nanoCpus: number): string {
  const whole = Math.floor(nanoCpus / nanoPerCore);
  const fraction = String(nanoCpus % nanoPerCore)
    .padStart(9, "0")
    .replace(/0+$/, "");
  return fraction.length === 0 ? String(whole) : `${whole}.${fraction}`;
}

const memoryUnits: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  ki: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};
export const memoryBounds = { minBytes: 6 * 1024 ** 2, maxBytes: 1024 ** 4 } as const;

/**
 * "512m", "1g", "256Mi", "1Gi", 1073741824 → bytes. Units are binary, as in `docker run -m`
 * (m = MiB). Docker's floor is 6 MiB; the ceiling is 1 TiB.
 */
export function parseMemory(
  input: string | number,
  bounds: { readonly minBytes: number; readonly maxBytes: number } = memoryBounds,
): ParseResult<number> {
  const text = String(input).trim().toLowerCase();
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(text);
  const unit = match?.[2] ?? "";
  const multiplier = memoryUnits[unit];
  if (match?.[1] === undefined || multiplier === undefined) {
    return { ok: false, message: 'must be bytes or a size like "512m", "1g", "256Mi", "1Gi"' };
  }
  const bytes = Math.round(Number(match[1]) * multiplier);
  if (bytes < bounds.minBytes)
    return {
      ok: false,
      message:
        bounds.minBytes === memoryBounds.minBytes
          ? "must be at least 6m (Docker's minimum)"
          : `must be at least ${formatMemory(bounds.minBytes)}`,
    };
  if (bytes > bounds.maxBytes)
    return { ok: false, message: `must be at most ${formatMemory(bounds.maxBytes)}` };
  return { ok: true, value: bytes };
}

/** Bytes → "1g", "256m", "1536k" or the plain number, whichever is exact and shortest. */
export function formatMemory(bytes: number): string {
  for (const [suffix, size] of [
    ["t", 1024 ** 4],
    ["g", 1024 ** 3],
    ["m", 1024 ** 2],
    ["k", 1024],
  ] as const) {
    if (bytes % size === 0) return `${bytes / size}${suffix}`;
  }
  return String(bytes);
}
