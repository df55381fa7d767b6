// Every call the page makes goes to the ordinary /api routes, authenticated by the session
// cookie; writes carry the session's CSRF token, which only this page can read.

let csrfToken = "";

export function useCsrfToken(token) {
  csrfToken = token;
}

/** An answer that is not a success: the problem+json detail, for the page to show. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (method !== "GET") headers["x-csrf-token"] = csrfToken;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, {
    method,
    headers,
    body: payload,
    credentials: "same-origin",
  });
  const text = await response.text();
  const parsed = text.length > 0 ? safeJson(text) : undefined;
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}

/** The session of this browser, or undefined when nobody is logged in. */
export async function currentSession() {
  const response = await fetch("/ui/session", { credentials: "same-origin" });
  return response.ok ? response.json() : undefined;
}
