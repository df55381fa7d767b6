import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { startKafkaRelay } from "../../src/events/kafka-relay.ts";
import type { Relay } from "../../src/events/relay.ts";
import {
  type KafkaAuthGateway,
  type KafkaAuthGatewayOptions,
  startKafkaAuthGateway,
} from "../support/kafka-auth-gateway.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { backends, hasKafkaMock } from "../support/services.ts";
import {
  allEvents,
  capturedLogger,
  containerEvent,
  openTestDatabase,
  type TestDatabase,
  uniqueTopic,
  writeEvents,
} from "./relay-support.ts";
import { type Certificates, makeCertificates } from "./test-certificates.ts";

/**
 * The service's relay (configuration → kafkajs → the wire) against a broker that demands TLS
 * and SASL. librdkafka's mock broker speaks neither, so test/support/kafka-auth-gateway.ts
 * stands in front of it and plays the broker's side of both (real TLS from node:tls with
 * certificates made here by openssl; the SASL exchange of the Kafka protocol, PLAIN and
 * SCRAM-SHA-256/512). The broker side is therefore our own reading of the protocol, not Kafka's
 * code; what no test here can reach (a managed cluster's own CA, SASL server and ACLs) is pinned
 * by the configuration tests in kafka-connection-config.test.ts: the exact settings kafkajs gets.
 */

const user = "svc-orchestrator";

describe.runIf(hasKafkaMock())(
  "Kafka over TLS and SASL (auth gateway in front of the mock)",
  () => {
    const broker = useKafkaBroker();
    let certificates: Certificates;
    const cleanups: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      certificates = await makeCertificates();
    });
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });
    afterAll(async () => {
      await certificates?.remove();
    });

    async function gateway(options: Omit<KafkaAuthGatewayOptions, "upstream">) {
      const started = await startKafkaAuthGateway({ upstream: broker().bootstrap, ...options });
      cleanups.push(() => started.stop());
      return started;
    }

    /** The broker's TLS side: our CA's certificate for localhost; `clientCa` demands a client's. */
    async function serverTls(options: { requireClientCertificate?: boolean } = {}) {
      return {
        cert: await certificates.read("serverCert"),
        key: await certificates.read("serverKey"),
        ...(options.requireClientCertificate ? { clientCa: await certificates.read("ca") } : {}),
      };
    }

    async function secretFile(name: string, content: string) {
      const file = path.join(certificates.dir, name);
      await writeFile(file, content, { mode: 0o600 });
      return file;
    }

    /**
     * The service's relay from environment variables (KAFKA_BROKERS is the gateway), on a fresh
     * database, logging everything (kafkajs included: LOG_LEVEL debug) where the test can read it.
     */
    async function relayFrom(target: KafkaAuthGateway, env: Record<string, string>) {
      // The database is not what these tests are about: the server when there is one, because a
      // fresh one opens in a moment where PGlite's start takes long on a busy machine.
      const database: TestDatabase = await openTestDatabase(backends().at(-1) ?? "pglite");
      const topic = uniqueTopic();
      const { logger, text, lines } = capturedLogger("debug");
      const config = loadConfig({ KAFKA_BROKERS: target.bootstrap, KAFKA_TOPIC: topic, ...env });
      const relay = (await startKafkaRelay(config, { store: database.store, logger })) as Relay;
      cleanups.push(async () => {
        await relay.stop({ timeoutMs: 2_000 });
        await database.close();
      });
      return { relay, topic, store: database.store, written: text, lines };
    }

    /** Writes one event and waits until the consumer of the mock broker (no gateway) has it. */
    async function expectDelivered(
      running: Awaited<ReturnType<typeof relayFrom>>,
      imageId: number,
    ) {
      await writeEvents(running.store, [containerEvent(imageId, 1)]);
      await running.relay.flush({ timeoutMs: 60_000 });
      const consumption = await broker().consume(running.topic);
      const [message] = await consumption.waitFor(1, 60_000);
      await consumption.stop();
      expect(message?.key).toBe(String(imageId));
      const [row] = await allEvents(running.store);
      expect(message?.event.id).toBe(row?.id);
    }

    it("SASL/PLAIN: the right password delivers, and no log line carries it", async () => {
      const password = "plain-password-4f1c";
      const target = await gateway({
        sasl: { mechanisms: ["PLAIN"], users: { [user]: password } },
      });
      const running = await relayFrom(target, {
        KAFKA_SASL_MECHANISM: "plain",
        KAFKA_SASL_USERNAME: user,
        KAFKA_SASL_PASSWORD: password,
      });
      await expectDelivered(running, 501);
      expect(target.authentications.length).toBeGreaterThan(0);
      expect(target.authentications).toContainEqual({
        mechanism: "PLAIN",
        username: user,
        ok: true,
      });
      expect(target.authentications.every((authentication) => authentication.ok)).toBe(true);
      expect(running.lines().map((line) => line.msg)).toContain(
        "SASL without TLS (KAFKA_SSL is not true): credentials and events cross the network unencrypted",
      );
      expect(
        running.lines().find((line) => line.msg === "publishing events to Kafka"),
      ).toMatchObject({ tls: false, sasl: "plain", saslUsername: user });
      expect(running.written()).not.toContain(password);
    });

    it("SASL/PLAIN: a wrong password fails clearly, events wait in the outbox, and leave once the broker accepts the credentials", async () => {
      const users: Record<string, string> = { [user]: "the-right-one" };
      const target = await gateway({ sasl: { mechanisms: ["PLAIN"], users } });
      const wrong = "wrong-password-9b2e";
      const running = await relayFrom(target, {
        KAFKA_SASL_MECHANISM: "plain",
        KAFKA_SASL_USERNAME: user,
        KAFKA_SASL_PASSWORD: wrong,
      });
      await writeEvents(running.store, [containerEvent(502, 1), containerEvent(502, 2)]);
      await expect(running.relay.flush({ timeoutMs: 3_000 })).rejects.toThrow(
        /flush timed out with 2 events unpublished/,
      );
      expect(target.authentications).toContainEqual({
        mechanism: "PLAIN",
        username: user,
        ok: false,
      });
      const rows = await allEvents(running.store);
      expect(rows.map((row) => row.published_at)).toEqual([null, null]);
      expect(rows[0]?.failed_at).toBeNull();
      expect(rows[0]?.publish_error).toMatch(
        /^SASL_AUTHENTICATION_FAILED: Kafka refused the SASL credentials \(check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD\): .*Invalid username or password/,
      );
      const failure = running
        .lines()
        .find(
          (line) =>
            line.msg === "event publishing failed; events wait in the database and will be retried",
        );
      expect(failure).toMatchObject({ level: 50, code: "SASL_AUTHENTICATION_FAILED" });
      expect(running.written()).not.toContain(wrong);

      // The operator sets the same password on the cluster: the waiting events go out, in order.
      users[user] = wrong;
      await running.relay.flush({ timeoutMs: 60_000 });
      const consumption = await broker().consume(running.topic);
      const messages = await consumption.waitFor(2, 60_000);
      await consumption.stop();
      expect(messages.map((message) => message.event.id)).toEqual(rows.map((row) => row.id));
      expect(running.written()).not.toContain(wrong);
    });

    it.each(["scram-sha-256", "scram-sha-512"] as const)(
      "%s over TLS, with the CA, username and password read from files (Docker secrets)",
      async (mechanism) => {
        const password = `scram-password-${mechanism}`;
        const target = await gateway({
          tls: await serverTls(),
          sasl: {
            mechanisms: [mechanism.toUpperCase() as "SCRAM-SHA-256" | "SCRAM-SHA-512"],
            users: { [user]: password },
          },
        });
        const running = await relayFrom(target, {
          KAFKA_SSL: "true",
          KAFKA_SSL_CA_FILE: certificates.files.ca,
          KAFKA_SASL_MECHANISM: mechanism,
          KAFKA_SASL_USERNAME_FILE: await secretFile(`${mechanism}-user`, `${user}\n`),
          KAFKA_SASL_PASSWORD_FILE: await secretFile(`${mechanism}-password`, `${password}\n`),
        });
        await expectDelivered(running, 503);
        expect(target.tlsClients.length).toBeGreaterThan(0);
        expect(target.authentications).toContainEqual({
          mechanism: mechanism.toUpperCase(),
          username: user,
          ok: true,
        });
        expect(running.lines().map((line) => line.msg)).not.toContain(
          "SASL without TLS (KAFKA_SSL is not true): credentials and events cross the network unencrypted",
        );
        expect(running.written()).not.toContain(password);
      },
    );

    it("mutual TLS: the client certificate delivers; without one the events wait, naming the settings", async () => {
      const target = await gateway({ tls: await serverTls({ requireClientCertificate: true }) });
      const withCertificate = await relayFrom(target, {
        KAFKA_SSL: "true",
        KAFKA_SSL_CA_FILE: certificates.files.ca,
        KAFKA_SSL_CERT_FILE: certificates.files.clientCert,
        KAFKA_SSL_KEY_FILE: certificates.files.clientKey,
      });
      await expectDelivered(withCertificate, 504);
      expect(target.tlsClients).toContainEqual({ clientCertificate: "orchestrator-client" });
      const key = await certificates.read("clientKey");
      expect(withCertificate.written()).not.toContain(key.split("\n")[1]);

      const without = await relayFrom(target, {
        KAFKA_SSL: "true",
        KAFKA_SSL_CA_FILE: certificates.files.ca,
      });
      await writeEvents(without.store, [containerEvent(505, 1)]);
      await expect(without.relay.flush({ timeoutMs: 3_000 })).rejects.toThrow(
        /1 events unpublished/,
      );
      const [row] = await allEvents(without.store);
      expect(row?.published_at).toBeNull();
      expect(row?.publish_error).toMatch(
        /^TLS_CLIENT_CERTIFICATE_REQUIRED: the broker wants a client certificate it trusts \(check KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE\)/,
      );
    });

    it.each([
      ["Node's bundled roots (no KAFKA_SSL_CA_FILE)", undefined],
      ["another CA", "otherCa"],
    ] as const)(
      "never trusts a broker certificate signed by a CA it was not given: %s",
      async (_, caFile) => {
        const target = await gateway({ tls: await serverTls() });
        const running = await relayFrom(target, {
          KAFKA_SSL: "true",
          ...(caFile === undefined ? {} : { KAFKA_SSL_CA_FILE: certificates.files[caFile] }),
        });
        await writeEvents(running.store, [containerEvent(506, 1)]);
        await expect(running.relay.flush({ timeoutMs: 3_000 })).rejects.toThrow(
          /1 events unpublished/,
        );
        const [row] = await allEvents(running.store);
        expect(row?.published_at).toBeNull();
        expect(row?.publish_error).toMatch(
          /^[A-Z_]+: the broker's TLS certificate is not trusted or does not name the broker \(check KAFKA_SSL_CA_FILE and the broker address\): /,
        );
        expect(target.tlsClients).toEqual([]);
      },
    );
  },
);
