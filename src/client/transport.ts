import type { Problem } from "../api/schemas/problem-schemas.ts";
import { OrchestratorError } from "./errors.ts";

/** How a client reaches the API: a base URL and a token, over `fetch` (or an app's own). */
export type ClientOptions = {
  /** `http://127.0.0.1:3003`; the in-process library passes its app's address. */
  readonly url: string;
  readonly token: string;
  /** The fetch to use: the global one by default; the library hands its app's `fetch`. */
  readonly fetch?: (request: Request) => Promise<Response>;
};

export type RequestOptions = {
  readonly json?: unknown;
  /** A body that is not JSON (a form, an archive), with its headers. */
  readonly body?: NonNullable<RequestInit["body"]>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly signal?: AbortSignal;
  /** Statuses that are answers, not errors (e.g. 503 of /readyz). */
  readonly accept?: readonly number[];
};

export type Transport = {
  readonly url: string;
  /** Sends a request and returns the raw response (streams). Errors: OrchestratorError. */
  send(method: string, path: string, options?: RequestOptions): Promise<Response>;
  /** Sends a request and parses the JSON answer (undefined for an empty one). */
  call<Body>(method: string, path: string, options?: RequestOptions): Promise<Body>;
};

function queryString(query: RequestOptions["query"]): string {
  const pairs = Object.entries(query ?? {}).filter(
    (pair): pair is [string, string | number | boolean] => pair[1] !== undefined,
  );
  return pairs.length === 0 ? "" : `?${new URLSearchParams(pairs.map(([k, v]) => [k, String(v)]))}`;
}

async function problemOf(response: Response): Promise<OrchestratorError> {
  const text = await response.text();
  let problem: Problem | undefined;
  try {
    const parsed = JSON.parse(text) as Problem;
    if (typeof parsed === "object" && parsed !== null && typeof parsed.code === "string")
      problem = parsed;
  } catch {
    // not problem+json: a proxy's page, say
  }
  return new OrchestratorError(
    response.status,
    problem?.code ?? "unexpected",
    problem?.detail ?? problem?.title ?? `answered ${response.status}: ${text.slice(0, 200)}`,
    problem,
  );
}

export function createTransport(options: ClientOptions): Transport {
  const url = options.url.replace(/\/+$/, "");
  /**
   * Node's fetch follows the signal of a `Request` only weakly: once that `Request` object is
   * garbage-collected, aborting the signal no longer aborts the fetch (nodejs/node#55428), and
   * an event stream stays open for good. So the global fetch is given the URL and the signal
   * itself; an app's own fetch (which takes a `Request`) gets one.
   */
  const doFetch = (target: string, init: RequestInit) =>
    options.fetch === undefined ? fetch(target, init) : options.fetch(new Request(target, init));
  async function send(method: string, path: string, request: RequestOptions = {}) {
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.token}`,
      ...request.headers,
    };
    let body: NonNullable<RequestInit["body"]> | undefined = request.body;
    if (request.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(request.json);
    }
    let response: Response;
    try {
      response = await doFetch(`${url}${path}${queryString(request.query)}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body, duplex: "half" }),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      } as RequestInit);
    } catch (error) {
      if (request.signal?.aborted) throw error;
      const cause = (error as Error).cause as Error | undefined;
      throw new OrchestratorError(
        0,
        "unreachable",
        `cannot reach ${url}: ${cause?.message ?? (error as Error).message}`,
        undefined,
        { cause: error },
      );
    }
    if (!response.ok && !(request.accept ?? []).includes(response.status))
      throw await problemOf(response);
    return response;
  }
  return {
    url,
    send,
    async call<Body>(method: string, path: string, request: RequestOptions = {}) {
      const response = await send(method, path, request);
      const text = await response.text();
      if (text.length === 0) return undefined as Body;
      const type = response.headers.get("content-type") ?? "";
      return (/json/.test(type) ? JSON.parse(text) : text) as Body;
    },
  };
}
