/** Small helpers shared by the benchmarks. */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function seconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(2)} s`;
}

/** One line per benchmark result: what, ours, baseline, ratio, goal. */
export function report(name: string, fields: Record<string, string | number>): void {
  const text = Object.entries(fields)
    .map(([key, value]) => `${key}=${value}`)
    .join("  ");
  process.stdout.write(`[${name}] ${text}\n`);
}

export async function until(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out: ${what}`);
}

/** Whether the test httpd on a host port answers its page (within a second). */
export async function answers(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/index.html`, {
      signal: AbortSignal.timeout(1_000),
    });
    await response.text();
    return response.ok;
  } catch {
    return false;
  }
}
