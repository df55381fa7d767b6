import pRetry from "p-retry";

/** The status code and message of an error from dockerode, when it has them. */
export function dockerStatus(error: unknown): { status: number | undefined; message: string } {
  const candidate = error as
    | { statusCode?: number; json?: { message?: string }; message?: string }
    | undefined;
  const message = candidate?.json?.message ?? candidate?.message ?? String(error);
  return { status: candidate?.statusCode, message: message.trim() };
}

const transientCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOENT",
  "EAI_AGAIN",
  "EHOSTUNREACH",
]);

/** Codes of a connection to the engine that could not be made or broke. */
const unreachableCodes = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EAI_AGAIN",
]);

/**
 * The call failed because the engine could not be reached (not because of what was asked),
 * looking through `cause` chains: the engine may be restarting or its socket cut.
 */
export function isEngineUnreachable(error: unknown): boolean {
  for (let current = error, depth = 0; current != null && depth < 5; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && unreachableCodes.has(code)) return true;
    if (/socket hang up/i.test((current as Error).message ?? "")) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Worth another try: the connection dropped, the engine answered 5xx, or it is busy with the
 * same container ("removal already in progress", an endpoint it has not released yet). Never
 * 4xx spec errors: retrying cannot fix them.
 */
export function isTransientDockerError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && transientCodes.has(code)) return true;
  const { status, message } = dockerStatus(error);
  if (/already in progress/i.test(message)) return true;
  // A container started again right after it died: the engine is still letting go of its
  // network endpoint (a moment later the start works).
  if (/endpoint with name \S+ already exists in network/i.test(message)) return true;
  return (
    status !== undefined &&
    status >= 500 &&
    !/no such image|not found|invalid|conflict/i.test(message)
  );
}

/** Retries a Docker call on transient failures only: 4 tries, 200 ms doubling, with jitter. */
export function withDockerRetry<T>(operation: () => Promise<T>): Promise<T> {
  return pRetry(operation, {
    retries: 3,
    minTimeout: 200,
    factor: 2,
    randomize: true,
    shouldRetry: ({ error }) => isTransientDockerError(error),
  });
}
