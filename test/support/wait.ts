/** Polls `read` until `done(value)` holds; fails with the last value when it never does. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: {
    timeoutMs?: number;
    intervalMs?: number;
    what?: string;
    /** What of the last value the timeout's message shows (default: all of it, cut at 2,000). */
    describe?: (value: T) => unknown;
  } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
  throw new Error(
    `timed out waiting for ${options.what ?? "condition"}; last value: ${JSON.stringify(last !== undefined && options.describe ? options.describe(last) : last)?.slice(0, 2000)}${
      lastError ? `; last error: ${(lastError as Error).message}` : ""
    }`,
  );
}
