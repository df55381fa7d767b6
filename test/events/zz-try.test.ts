import { describe, it } from "vitest";
import { createKafkaSink } from "../../src/events/kafka-sink.ts";
import { secret } from "../../src/events/kafka-connection-settings.ts";
import { createLogger } from "../../src/logger.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { startKafkaAuthGateway } from "../support/kafka-auth-gateway.ts";
import { makeCertificates } from "./test-certificates.ts";

describe("try", () => {
  const broker = useKafkaBroker();
  it("tls", async () => {
    const certs = await makeCertificates();
    const gw = await startKafkaAuthGateway({ upstream: broker().bootstrap, tls: { cert: await certs.read("serverCert"), key: await certs.read("serverKey"), clientCa: await certs.read("ca") } });
    const logger = createLogger("silent");
    const client = { cert: await certs.read("clientCert"), key: secret(await certs.read("clientKey")) };
    const cases = {
      bundled: { ca: undefined, clientCertificate: client },
      other: { ca: await certs.read("otherCa"), clientCertificate: client },
      noclient: { ca: await certs.read("ca"), clientCertificate: undefined },
      plaintext: undefined,
    } as const;
    for (const [name, tls] of Object.entries(cases)) {
      const sink = createKafkaSink({ brokers: [gw.bootstrap], topic: "t1", clientId: "x", logger, tls, connectionTimeoutMs: 2000, requestTimeoutMs: 3000 });
      const r = await sink.publish([{ key: "1", value: "v", headers: {} }]).then((x) => x, (e) => e);
      console.log("CASE", name, r.code, r.message, r.cause?.cause?.code, r.cause?.code, r.cause?.name);
      await sink.disconnect();
    }
    await gw.stop();
    await certs.remove();
  });
});
