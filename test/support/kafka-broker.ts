import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Consumer, Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll } from "vitest";
import { services } from "./services.ts";

/**
 * librdkafka's mock cluster (test/support/kafka-mock.c) as a Kafka broker for tests: the real
 * protocol over TCP, driven through stdin (down, up, produce-errors), plus a kafkajs consumer.
 */

export type ConsumedMessage = {
  readonly key: string | null;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly partition: number;
  readonly offset: string;
  /** The value parsed as JSON. */
  readonly event: any;
};

export type Consumption = {
  /** Everything received so far, in arrival order (ordered within a partition). */
  readonly messages: readonly ConsumedMessage[];
  /** Resolves once at least `count` messages arrived; rejects after `timeoutMs` (default 30 s). */
  waitFor(count: number, timeoutMs?: number): Promise<readonly ConsumedMessage[]>;
  stop(): Promise<void>;
};

export type KafkaBroker = {
  /** host:port to give a client. */
  readonly bootstrap: string;
  readonly brokers: readonly string[];
  /** Disconnects clients and refuses connections, keeping the address. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** The next `count` Produce requests fail with Kafka error `code` (e.g. 10 MESSAGE_TOO_LARGE). */
  produceErrors(count: number, code: number): Promise<void>;
  /** Reads `topic` with a new consumer group; resolves once the consumer has joined. */
  consume(topic: string, options?: { fromBeginning?: boolean }): Promise<Consumption>;
  stop(): Promise<void>;
};

const mockSource = fileURLToPath(new URL("./kafka-mock.c", import.meta.url));
const mockBinary = fileURLToPath(new URL("./kafka-mock", import.meta.url));

/** Builds the mock broker when missing or older than its source (outside vitest, e.g. benches). */
export async function ensureKafkaMockBinary(): Promise<string> {
  const binary = process.env.KAFKA_MOCK_BIN ?? mockBinary;
  const [source, built] = await Promise.all([
    stat(mockSource),
    stat(binary).catch(() => undefined),
  ]);
  if (built === undefined || built.mtimeMs < source.mtimeMs) {
    await promisify(execFile)("gcc", [mockSource, "-o", binary, "-lrdkafka"]);
  }
  return binary;
}

/** Reads the mock's stdout line by line; each command waits for its `ok …` answer. */
function lineReader(child: ChildProcessWithoutNullStreams) {
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  let buffer = "";
  child.stdout.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const waiter = waiters.shift();
      if (waiter === undefined) lines.push(line);
      else waiter(line);
    }
  });
  return (timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const queued = lines.shift();
      if (queued !== undefined) {
        resolve(queued);
        return;
      }
      const timer = setTimeout(() => reject(new Error("kafka mock did not answer")), timeoutMs);
      waiters.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
}

export async function startKafkaBroker(binary: string): Promise<KafkaBroker> {
  const child = spawn(binary, [], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const nextLine = lineReader(child);
  const first = await nextLine(10_000).catch((error: Error) => {
    child.kill("SIGKILL");
    throw new Error(`${error.message}: ${stderr}`);
  });
  const match = /^bootstrap (\S+)$/.exec(first);
  if (match?.[1] === undefined) throw new Error(`unexpected kafka mock output: ${first}`);
  const bootstrap = match[1];
  const brokers = bootstrap.split(",");

  let commands = Promise.resolve();
  const command = (line: string) => {
    const run = commands.then(async () => {
      child.stdin.write(`${line}\n`);
      const answer = await nextLine(5_000);
      if (!answer.startsWith("ok")) throw new Error(`kafka mock: ${line}: ${answer}`);
    });
    commands = run.catch(() => {});
    return run;
  };

  const kafka = new Kafka({
    clientId: "test-consumer",
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const consumers = new Set<Consumer>();

  const consume: KafkaBroker["consume"] = async (topic, options = {}) => {
    const consumer = kafka.consumer({
      groupId: `test-${randomBytes(6).toString("hex")}`,
      allowAutoTopicCreation: true,
      // The mock answers a fetch only when its wait ends: keep it short.
      maxWaitTimeInMs: 100,
    });
    consumers.add(consumer);
    const messages: ConsumedMessage[] = [];
    const listeners = new Set<() => void>();
    const joined = new Promise<void>((resolve) =>
      consumer.on(consumer.events.GROUP_JOIN, () => resolve()),
    );
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const value = message.value?.toString() ?? "";
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([name, header]) => [name, String(header)]),
        );
        let event: unknown;
        try {
          event = JSON.parse(value);
        } catch {
          event = undefined;
        }
        messages.push({
          key: message.key?.toString() ?? null,
          value,
          headers,
          partition,
          offset: message.offset,
          event,
        });
        for (const listener of listeners) listener();
      },
    });
    await joined;
    return {
      messages,
      waitFor: (count, timeoutMs = 30_000) =>
        new Promise((resolve, reject) => {
          const check = () => {
            if (messages.length < count) return;
            listeners.delete(check);
            clearTimeout(timer);
            resolve(messages);
          };
          const timer = setTimeout(() => {
            listeners.delete(check);
            reject(new Error(`got ${messages.length} of ${count} messages on ${topic}`));
          }, timeoutMs);
          listeners.add(check);
          check();
        }),
      stop: async () => {
        consumers.delete(consumer);
        await consumer.disconnect();
      },
    };
  };

  let stopped = false;
  return {
    bootstrap,
    brokers,
    down: () => command("down"),
    up: () => command("up"),
    produceErrors: (count, code) => command(`produce-errors ${count} ${code}`),
    consume,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await Promise.all([...consumers].map((consumer) => consumer.disconnect().catch(() => {})));
      child.stdin.write("quit\n");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * A mock broker for the enclosing suite: started before its tests, stopped after them. The
 * returned function gives the broker inside the tests.
 */
export function useKafkaBroker(): () => KafkaBroker {
  let broker: KafkaBroker | undefined;
  beforeAll(async () => {
    const mock = services().kafkaMock;
    if (!mock.ok) throw new Error(mock.reason);
    broker = await startKafkaBroker(mock.binary);
  });
  afterAll(async () => {
    await broker?.stop();
  });
  return () => {
    if (broker === undefined) throw new Error("the Kafka mock broker is not started");
    return broker;
  };
}
