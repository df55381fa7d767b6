import type { CliConfig, CliContext } from "./cli-config.ts";
import type { GlobalFlags } from "./global-flags.ts";

export const defaultServer = "http://127.0.0.1:3003";

export type ResolvedServer = {
  readonly url: string;
  /** Undefined: none given anywhere (a local server's admin-token file may still have one). */
  readonly token: string | undefined;
  /** The context in use, if any. */
  readonly context: string | undefined;
};

/** The context named by `--context`, ORCHESTRATOR_CONTEXT or the config's current one. Pure. */
export function selectContext(
  config: CliConfig,
  flags: GlobalFlags,
  environment: NodeJS.ProcessEnv,
): { readonly name: string; readonly context: CliContext | undefined } | undefined {
  const name = flags.context ?? environment.ORCHESTRATOR_CONTEXT ?? config.current_context;
  if (name === null || name === undefined || name === "") return undefined;
  return { name, context: config.contexts[name] };
}

const normalized = (url: string) => url.replace(/\/+$/, "");

/**
 * Where the CLI talks to, each field on its own: a flag wins over the environment, which wins
 * over the saved context. A context's token goes only to that context's server, never to one
 * named by a flag or ORCHESTRATOR_URL. Pure.
 */
export function resolveServer(
  flags: GlobalFlags,
  environment: NodeJS.ProcessEnv,
  context: CliContext | undefined,
): Omit<ResolvedServer, "context"> {
  const url = normalized(
    flags.server ?? environment.ORCHESTRATOR_URL ?? context?.server ?? defaultServer,
  );
  const contextToken =
    context !== undefined && normalized(context.server) === url ? context.token : undefined;
  const token =
    flags.token ??
    environment.ORCHESTRATOR_TOKEN ??
    environment.ORCHESTRATOR_ADMIN_TOKEN ??
    contextToken;
  return { url, token };
}
