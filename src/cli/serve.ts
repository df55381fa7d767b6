import { type Service, startService } from "../composition-root.ts";
import { ConfigError, loadConfig } from "../config.ts";
import { createLogger, type Logger } from "../logger.ts";
import type { WatchReport } from "./watch-apply.ts";

export type ServeOptions = {
  /** Folders (or files) of desired state to apply, as the admin user, on every change. */
  readonly watch?: {
    readonly paths: readonly string[];
    readonly set: string;
    readonly prune: boolean;
    readonly allowEmpty: boolean;
  };
};

/** Each round of `serve --watch` as one log entry. */
function logWatchReport(logger: Logger, report: WatchReport): void {
  if (report.kind === "applied") {
    logger.info(
      { set: report.set, plan: report.lines, ...report.counts },
      "desired state applied from files",
    );
  } else if (report.kind === "invalid") {
    logger.warn(
      { set: report.set, errors: report.errors },
      "desired-state files have errors; nothing applied",
    );
  } else {
    logger.error({ set: report.set, error: report.message }, "desired state not applied");
  }
}

/** Parses configuration, starts the service, and stops it gracefully on SIGTERM/SIGINT. */
export async function serve(
  environment: NodeJS.ProcessEnv = process.env,
  options: ServeOptions = {},
): Promise<Service> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let service: Service;
  try {
    service = await startService(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, "could not start");
    logger.flush();
    console.error(`orchestrator: could not start: ${(error as Error).message}`);
    process.exit(1);
  }
  if (service.adminToken.origin === "generated") {
    console.error(
      `\nAdmin token (shown once, saved to ${service.adminToken.file}):\n  ${service.adminToken.token}\n` +
        `Use it: curl -H "Authorization: Bearer $(cat ${service.adminToken.file})" ${service.url}/api/images\n`,
    );
  }

  const stopWatching = new AbortController();
  let watching: Promise<void> = Promise.resolve();
  if (options.watch !== undefined) {
    const { paths, set, prune, allowEmpty } = options.watch;
    const settings = { url: service.url, token: service.adminToken.token };
    logger.info({ paths, set, prune }, "watching desired-state files");
    // Loaded only with --watch: the desired-state file readers are not needed to serve.
    const { watchApply } = await import("./watch-apply.ts");
    watching = watchApply(
      settings,
      { paths, set, prune, allowEmpty, dryRun: false },
      (report) => logWatchReport(logger, report),
      stopWatching.signal,
    ).catch((error: unknown) => {
      logger.error({ err: error, paths }, "cannot watch desired-state files");
    });
  }

  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "signal received");
    const deadline = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      logger.flush();
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000);
    deadline.unref();
    stopWatching.abort();
    watching
      .then(() => service.stop())
      .then(() => {
        logger.flush();
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, "error during shutdown");
        logger.flush();
        process.exit(1);
      });
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
  return service;
}
