/**
 * A client written only from the original service's documentation (the route table of
 * shared/DESIGN.md): plain fetch, the documented paths, fields and statuses, nothing learnt from
 * this code base. The compat suites use it so that what they check is what such a client sees.
 */
export type Answer = { status: number; contentType: string; body: any; text: string };

export function documentedClient(baseUrl: string, token: string) {
  async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const isForm = body instanceof FormData;
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined || isForm ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: isForm ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // text (logs, metrics)
    }
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      body: parsed,
      text,
    };
  }
  return {
    get: (path: string) => call("GET", path),
    post: (path: string, body?: unknown) => call("POST", path, body),
    patch: (path: string, body: unknown) => call("PATCH", path, body),
    delete: (path: string) => call("DELETE", path),
    /** Reads a Server-Sent Events stream until `until` holds (or the stream ends). */
    async stream(
      path: string,
      until: (events: ReadonlyArray<{ event: string; data: string; id?: string }>) => boolean,
      timeoutMs = 120_000,
    ) {
      const abort = AbortSignal.timeout(timeoutMs);
      const response = await fetch(`${baseUrl}${path}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: abort,
      });
      const events: Array<{ event: string; data: string; id?: string }> = [];
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      try {
        while (!until(events)) {
          const { done, value } = await reader.read();
          if (done) break;
          buffered += decoder.decode(value, { stream: true });
          for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
            const lines = buffered.slice(0, end).split("\n");
            buffered = buffered.slice(end + 2);
            const field = (name: string) =>
              lines
                .filter((line) => line.startsWith(`${name}:`))
                .map((line) => line.slice(name.length + 1).replace(/^ /, ""));
            const data = field("data");
            if (data.length === 0) continue;
            const id = field("id")[0];
            events.push({
              event: field("event")[0] ?? "message",
              data: data.join("\n"),
              ...(id === undefined ? {} : { id }),
            });
          }
        }
      } finally {
        await reader.cancel().catch(() => {});
      }
      return { status: response.status, contentType: response.headers.get("content-type"), events };
    },
  };
}

export type DocumentedClient = ReturnType<typeof documentedClient>;

/** The statuses the documentation names. */
export const imageStatuses = [
  "pending",
  "building",
  "ready",
  "build_failed",
  "registered",
  "deleting",
];
export const observedStates = [
  "pending",
  "creating",
  "running",
  "exited",
  "crash_loop",
  "stopped",
  "removing",
];
export const eventTypes = [
  "container.created",
  "container.started",
  "container.stopped",
  "container.removed",
  "container.failed",
  "container.unhealthy",
  "container.healthy",
  // Not in the original's list: the contract gained it with 3a3bc42 (docs/architecture.md, event
  // types), and every instance that goes away with its container (a DELETE too) is announced so.
  "container.draining",
  "image.building",
  "image.ready",
  "image.build_failed",
  "image.deleted",
  "image.scaled",
];

/** Polls until `done` holds, with a generous deadline (the machine is shared). */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 1500)}`);
}
