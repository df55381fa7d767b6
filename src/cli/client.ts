import { readAdminTokenFile } from "../auth/admin-token.ts";
import { Orchestrator, OrchestratorError } from "../client/index.ts";
import type { RequestOptions } from "../client/transport.ts";
import { configPath, loadConfig } from "./cli-config.ts";
import { CliError, exitCodes } from "./cli-error.ts";
import type { GlobalFlags } from "./global-flags.ts";
import { resolveServer, selectContext } from "./settings-resolution.ts";

export { CliError } from "./cli-error.ts";

/** How the CLI reaches a running server: its URL and a token. */
export type ClientSettings = { readonly url: string; readonly token: string };

/**
 * Where the client commands go: `--server`/`--token` flags, then ORCHESTRATOR_URL and
 * ORCHESTRATOR_TOKEN (or ORCHESTRATOR_ADMIN_TOKEN), then the saved context (see
 * settings-resolution.ts), and last the admin token file of a local embedded server
 * (DATA_DIR/admin-token).
 */
export async function clientSettings(
  environment: NodeJS.ProcessEnv,
  flags: GlobalFlags = {},
): Promise<ClientSettings> {
  const selected = selectContext(await loadConfig(configPath(environment)), flags, environment);
  if (selected !== undefined && selected.context === undefined) {
    throw new CliError(`context ${selected.name} not found (see orchestrator context list)`, 1);
  }
  const resolved = resolveServer(flags, environment, selected?.context);
  if (!URL.canParse(resolved.url)) throw new CliError(`server ${resolved.url} is not a URL`);
  const token = resolved.token ?? (await readAdminTokenFile(environment.DATA_DIR ?? "./data"));
  if (token === undefined) {
    throw new CliError(
      "no token: pass --token, set ORCHESTRATOR_TOKEN, save one with orchestrator context set, or run next to a local server's DATA_DIR (admin-token file)",
    );
  }
  return { url: resolved.url, token };
}

export type ApiResponse<Body> = { readonly status: number; readonly body: Body };

export type CallOptions = { readonly acceptStatuses?: readonly number[] };

/** A request body that is not JSON: a file's bytes, streamed. */
export type RawBody = {
  readonly stream: ReadableStream<Uint8Array>;
  readonly contentType: string;
  readonly contentLength?: number;
  readonly headers?: Readonly<Record<string, string>>;
};

/** The one client of the repository (`orchestrator/client`), for these settings. */
export function clientOf(settings: ClientSettings): Orchestrator {
  return new Orchestrator({ url: settings.url, token: settings.token });
}

async function send<Body>(
  settings: ClientSettings,
  method: string,
  path: string,
  request: RequestOptions,
  options: CallOptions,
): Promise<ApiResponse<Body>> {
  let response: Response;
  try {
    response = await clientOf(settings).send(method, path, {
      ...request,
      accept: options.acceptStatuses ?? [],
    });
  } catch (error) {
    if (!(error instanceof OrchestratorError)) throw error;
    if (error.code === "unreachable") {
      throw new CliError(
        `cannot reach ${settings.url}: ${(error.cause as Error | undefined)?.cause ?? error.message}`,
        exitCodes.failed,
      );
    }
    throw new CliError(
      `${method} ${path} failed (${error.status}): ${error.message}`,
      exitCodes.failed,
    );
  }
  const text = await response.text();
  const parsed = text.length > 0 ? safeJson(text) : undefined;
  return { status: response.status, body: parsed as Body };
}

/** Calls the API with a JSON body (or none); a problem+json answer becomes a CliError. */
export async function callApi<Body>(
  settings: ClientSettings,
  method: string,
  path: string,
  body?: unknown,
  options: CallOptions = {},
): Promise<ApiResponse<Body>> {
  return send(settings, method, path, body === undefined ? {} : { json: body }, options);
}

/** Calls the API with a streamed raw body (an upload); errors as for callApi. */
export async function callApiWithBody<Body>(
  settings: ClientSettings,
  method: string,
  path: string,
  body: RawBody,
  options: CallOptions = {},
): Promise<ApiResponse<Body>> {
  const headers: Record<string, string> = { ...body.headers, "content-type": body.contentType };
  if (body.contentLength !== undefined) headers["content-length"] = String(body.contentLength);
  return send(settings, method, path, { headers, body: body.stream }, options);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
