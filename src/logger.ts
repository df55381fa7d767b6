import { pino } from "pino";

export type Logger = pino.Logger;

/** Paths that may carry a secret; pino replaces them before anything is written. */
const redactedPaths = [
  "token",
  "*.token",
  "adminToken",
  "*.adminToken",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "password",
  "*.password",
  "databaseUrl",
  "*.databaseUrl",
  // kafkajs's client settings (src/events/kafka-sink.ts), should they ever be logged.
  "sasl.password",
  "*.sasl.password",
  "ssl.key",
  "*.ssl.key",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "orchestrator" },
      redact: { paths: redactedPaths, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** Removes the password from a connection URL so it can be logged. */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return "[unparseable url]";
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}
