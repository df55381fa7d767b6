import { type Config, ConfigError, loadConfig, tokenSettingProblem } from "../config.ts";
import { startKafkaSource } from "../events/kafka-source.ts";
import { createLogger } from "../logger.ts";
import { startRouter } from "../router/router.ts";
import { startSseSource } from "../router/sse-source.ts";
import { CliError } from "./cli-error.ts";
import { type CommandIo, parseCommand } from "./command-io.ts";

export const routerHelp = `Usage: orchestrator router [--listen [HOST]:PORT] [--metrics-listen [HOST]:PORT]
                           [--source kafka|sse] [--wake]

A reverse proxy for the images' app_hostname: each request goes, by its Host header, round
robin to the ready instances of the image with that hostname. Its table is built only from the
lifecycle events: the Kafka topic (no call to the API at all), or the API's event stream.
Its /healthz answers under any Host that is no image's hostname. Its /metrics (every
hostname's requests, latency and ready instances) answers only on --metrics-listen, never on
the proxy: point the service's ROUTER_METRICS_URL there. With ROUTER_METRICS_TOKEN set
(the service's too), /metrics answers only to it as a bearer token, which the controller sends.

Options:
      --listen ADDR    where to listen (default :8080, every interface)
      --metrics-listen ADDR
                       where /metrics and /healthz listen (default 127.0.0.1:9464; give an
                       address the controller reaches, and the internet does not)
      --source S       kafka (default when KAFKA_BROKERS is set) or sse (the API's stream,
                       with --server/--token or the current context)
      --brokers LIST   Kafka brokers, comma-separated (default KAFKA_BROKERS)
      --topic NAME     the lifecycle topic (default KAFKA_TOPIC, or container-lifecycle)
      --wake           scale to zero: hold a request for a hostname with no ready instance,
                       ask the API to wake its image (POST /api/images/{id}/wake, with
                       --server/--token or the current context: the image owner's token or
                       the admin's; the only call to the API in Kafka mode), and forward it
                       once an instance is ready
      --wake-timeout S how long a held request waits before its 503 (default 30)
  -h, --help           show this help

Environment: LOG_LEVEL (default info; logs are JSON lines on standard output);
ROUTER_METRICS_TOKEN (unset: /metrics is open to whoever reaches --metrics-listen); with Kafka,
the service's KAFKA_SSL*, KAFKA_SASL* and KAFKA_CLIENT_ID, read and checked as \`serve\` does.`;

/** `:8080` → every interface; `127.0.0.1:0`, `[::1]:8080` → that address. */
export function parseListen(value: string, option = "--listen"): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (match === null || port > 65_535) {
    throw new CliError(`${option} ${value}: expected [HOST]:PORT, e.g. :8080 or 127.0.0.1:8080`);
  }
  const host = match[1] ?? match[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
}

/** The service's own parsing of the environment: Kafka's TLS and SASL are checked as serve does. */
function serviceConfig(environment: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}

export async function routerCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand(
    args,
    {
      listen: { type: "string" },
      "metrics-listen": { type: "string" },
      source: { type: "string" },
      brokers: { type: "string" },
      topic: { type: "string" },
      wake: { type: "boolean" },
      "wake-timeout": { type: "string" },
    },
    routerHelp,
    io,
  );
  if (parsed === undefined) return 0;
  const { values } = parsed;
  const environment = io.environment;
  const brokers = (values.brokers ?? environment.KAFKA_BROKERS ?? "")
    .split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
  const source = values.source ?? (brokers.length > 0 ? "kafka" : "sse");
  if (source !== "kafka" && source !== "sse") {
    throw new CliError(`--source ${source}: must be kafka or sse`);
  }
  if (source === "kafka" && brokers.length === 0) {
    throw new CliError("--source kafka needs --brokers or KAFKA_BROKERS");
  }
  const listen = parseListen(values.listen ?? ":8080");
  const metricsListen = parseListen(
    values["metrics-listen"] ?? "127.0.0.1:9464",
    "--metrics-listen",
  );
  const config = source === "kafka" ? serviceConfig(environment) : undefined;
  const wakeTimeout = Number(values["wake-timeout"] ?? "30");
  if (!Number.isFinite(wakeTimeout) || wakeTimeout <= 0 || wakeTimeout > 600) {
    throw new CliError(`--wake-timeout ${values["wake-timeout"]}: must be 1 to 600 seconds`);
  }
  const metricsToken = environment.ROUTER_METRICS_TOKEN || undefined;
  const tokenProblem = metricsToken === undefined ? undefined : tokenSettingProblem(metricsToken);
  if (tokenProblem !== undefined) throw new CliError(`ROUTER_METRICS_TOKEN: ${tokenProblem}`);
  const logger = createLogger(environment.LOG_LEVEL ?? "info");
  const wakeClient = values.wake === true ? await io.client() : undefined;
  const router = await startRouter({
    ...listen,
    metrics: {
      ...metricsListen,
      ...(metricsToken === undefined ? {} : { token: metricsToken }),
    },
    logger,
    ...(wakeClient === undefined
      ? {}
      : {
          wake: {
            call: async (imageId: number) => {
              await wakeClient.images.wake(imageId);
            },
            timeoutMs: wakeTimeout * 1000,
          },
        }),
  });
  let stopSource: () => Promise<void> | void = () => {};
  try {
    // The SSE stream ends only by a refusal (a bad token): the router stops with it.
    let sourceEnded: Promise<void> = new Promise(() => {});
    if (config !== undefined) {
      const { tls, sasl } = config.kafkaConnection;
      const kafka = await startKafkaSource({
        brokers,
        topic: values.topic ?? config.kafkaTopic,
        clientId: `${config.kafkaConnection.clientId}-router`,
        ...(tls === undefined ? {} : { tls }),
        ...(sasl === undefined ? {} : { sasl }),
        logger,
        onEvent: router.apply,
      });
      stopSource = kafka.stop;
    } else {
      const stream = startSseSource(await io.client(), router.apply, logger);
      sourceEnded = stream.done;
      stopSource = stream.stop;
    }
    logger.info({ url: router.url, metricsUrl: router.metricsUrl, source }, "router listening");
    io.err(
      `router listening on ${router.url}, metrics on ${router.metricsUrl}/metrics (source: ${source})`,
    );
    const interrupted = new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.race([interrupted, sourceEnded]);
  } finally {
    await stopSource();
    await router.close();
  }
  return 0;
}
