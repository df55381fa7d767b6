/** Polls `read` until `done(value)` holds; fails with the last value when it never does. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
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
    `timed out waiting for ${options.what ?? "condition"}; last value: ${JSON.stringify(last)?.slice(0, 2000)}${
      lastError ? `; last error: ${(lastError as Error).message}` : ""
    }`,
  );
}
