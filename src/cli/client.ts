import { readAdminTokenFile } from "../auth/admin-token.ts";

/** How the CLI reaches a running server: ORCHESTRATOR_URL and a token. */
export type ClientSettings = { readonly url: string; readonly token: string };

export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * The token comes from ORCHESTRATOR_TOKEN, then ORCHESTRATOR_ADMIN_TOKEN, then the admin token
 * file of a local embedded server (DATA_DIR/admin-token).
 */
export async function clientSettings(environment: NodeJS.ProcessEnv): Promise<ClientSettings> {
  const url = (environment.ORCHESTRATOR_URL ?? "http://127.0.0.1:3003").replace(/\/+$/, "");
  if (!URL.canParse(url)) throw new CliError(`ORCHESTRATOR_URL=${url} is not a URL`);
  const token =
    environment.ORCHESTRATOR_TOKEN ??
    environment.ORCHESTRATOR_ADMIN_TOKEN ??
    (await readAdminTokenFile(environment.DATA_DIR ?? "./data"));
  if (token === undefined) {
    throw new CliError(
      "no token: set ORCHESTRATOR_TOKEN, or run next to a local server's DATA_DIR (admin-token file)",
    );
  }
  return { url, token };
}

export type ApiResponse<Body> = { readonly status: number; readonly body: Body };

/** Calls the API; a problem+json answer becomes a CliError with its detail. */
export async function callApi<Body>(
  settings: ClientSettings,
  method: string,
  path: string,
  body?: unknown,
  options: { readonly acceptStatuses?: readonly number[] } = {},
): Promise<ApiResponse<Body>> {
  let response: Response;
  try {
    response = await fetch(`${settings.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${settings.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new CliError(
      `cannot reach ${settings.url}: ${(error as Error).cause ?? (error as Error).message}`,
    );
  }
  const text = await response.text();
  const parsed = text.length > 0 ? safeJson(text) : undefined;
  if (!response.ok && !(options.acceptStatuses ?? []).includes(response.status)) {
    const problem = parsed as { detail?: string; title?: string } | undefined;
    throw new CliError(
      `${method} ${path} failed (${response.status}): ${problem?.detail ?? problem?.title ?? text}`,
    );
  }
  return { status: response.status, body: parsed as Body };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
