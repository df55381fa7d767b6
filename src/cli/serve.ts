import { ConfigError, loadConfig } from "../config.ts";
import { createLogger } from "../logger.ts";
import { type Service, startService } from "../service.ts";

/** Parses configuration, starts the service, and stops it gracefully on SIGTERM/SIGINT. */
export async function serve(environment: NodeJS.ProcessEnv = process.env): Promise<Service> {
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

  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "signal received");
    const deadline = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      logger.flush();
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000);
    deadline.unref();
    service
      .stop()
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
