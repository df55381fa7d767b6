import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";

/**
 * A TLS and SASL front for librdkafka's mock cluster, which speaks neither: librdkafka's mock
 * broker (rdkafka_mock.c, v2.0.2 here and upstream today) has no SaslHandshake/SaslAuthenticate
 * handlers and listens on plain TCP. This gateway is the broker side of what a managed Kafka does
 * before any Kafka request: it terminates TLS (optionally requiring a client certificate), runs
 * the SASL exchange of the Kafka protocol (SaslHandshake, then SaslAuthenticate carrying PLAIN
 * per RFC 4616 or SCRAM-SHA-256/512 per RFC 5802/7677), refuses every other request until the
 * client authenticated, and then relays bytes to the mock broker unchanged, except two answers:
 * ApiVersions gains the two SASL requests, and Metadata names the gateway as the broker, so the
 * client never reaches the mock around it. Only the client side (kafkajs, through our sink) is
 * under test; the gateway is test scaffolding, written from the protocol, for one-broker clusters.
 */

export type SaslMechanismName = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";

export type KafkaAuthGatewayOptions = {
  /** host:port of the mock broker (a one-broker cluster). */
  readonly upstream: string;
  /** Host name the gateway gives clients in Metadata (and its certificate must name). */
  readonly advertisedHost?: string;
  /** TLS: the server's certificate and key; `clientCa` makes a client certificate mandatory. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly clientCa?: string };
  /** SASL: the enabled mechanisms and the users with their passwords. */
  readonly sasl?: {
    readonly mechanisms: readonly SaslMechanismName[];
    readonly users: Readonly<Record<string, string>>;
  };
};

export type Authentication = {
  readonly mechanism: string;
  readonly username: string;
  readonly ok: boolean;
};

export type KafkaAuthGateway = {
  /** host:port to give a client. */
  readonly bootstrap: string;
  /** Every SASL exchange that ended, in order. */
  readonly authentications: readonly Authentication[];
  /** Connections that completed a TLS handshake (with a client certificate: its subject CN). */
  readonly tlsClients: readonly { readonly clientCertificate: string | undefined }[];
  stop(): Promise<void>;
};

const apiKeys = { metadata: 3, apiVersions: 18, saslHandshake: 17, saslAuthenticate: 36 } as const;
const errors = { none: 0, illegalSaslState: 34, unsupportedMechanism: 33, authFailed: 58 } as const;

/** Reads Kafka's big-endian primitives from a frame, front to back. */
function reader(buffer: Buffer) {
  let offset = 0;
  const advance = (by: number) => {
    offset += by;
    return offset - by;
  };
  const read = {
    int16: () => buffer.readInt16BE(advance(2)),
    int32: () => buffer.readInt32BE(advance(4)),
    string: (): string | null => {
      const length = read.int16();
      if (length < 0) return null;
      const start = advance(length);
      return buffer.toString("utf8", start, start + length);
    },
    bytes: (): Buffer => {
      const length = Math.max(read.int32(), 0);
      const start = advance(length);
      return buffer.subarray(start, start + length);
    },
    rest: () => buffer.subarray(offset),
  };
  return read;
}

const int16 = (value: number) => {
  const buffer = Buffer.alloc(2);
  buffer.writeInt16BE(value);
  return buffer;
};
const int32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
};
const string = (value: string | null) =>
  value === null ? int16(-1) : Buffer.concat([int16(Buffer.byteLength(value)), Buffer.from(value)]);
const bytes = (value: Buffer) => Buffer.concat([int32(value.length), value]);
/** A response frame: size, correlation id (response header v0), body. */
const frame = (correlationId: number, body: Buffer) =>
  Buffer.concat([int32(4 + body.length), int32(correlationId), body]);

/** ApiVersions v0-v2 answer with the two SASL requests added (the mock lists neither). */
function withSaslVersions(body: Buffer, version: number): Buffer {
  const read = reader(body);
  const errorCode = read.int16();
  if (errorCode !== errors.none) return body;
  const count = read.int32();
  const entries: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    const [key, min, max] = [read.int16(), read.int16(), read.int16()];
    if (key !== apiKeys.saslHandshake && key !== apiKeys.saslAuthenticate)
      entries.push(Buffer.concat([int16(key), int16(min), int16(max)]));
  }
  entries.push(Buffer.concat([int16(apiKeys.saslHandshake), int16(0), int16(1)]));
  entries.push(Buffer.concat([int16(apiKeys.saslAuthenticate), int16(0), int16(1)]));
  const tail = version >= 1 ? read.rest() : Buffer.alloc(0);
  return Buffer.concat([int16(errorCode), int32(entries.length), ...entries, tail]);
}

/** Metadata v0-v8 answer with the (one) broker's address replaced by the gateway's. */
function withGatewayAddress(body: Buffer, version: number, host: string, port: number): Buffer {
  const read = reader(body);
  const head = version >= 3 ? int32(read.int32()) : Buffer.alloc(0);
  const count = read.int32();
  // Every broker becomes the gateway: right for the one-broker mock these tests start.
  const brokers: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    const nodeId = read.int32();
    read.string();
    read.int32();
    const rack = version >= 1 ? string(read.string()) : Buffer.alloc(0);
    brokers.push(Buffer.concat([int32(nodeId), string(host), int32(port), rack]));
  }
  return Buffer.concat([head, int32(count), ...brokers, read.rest()]);
}

type ScramDigest = "sha256" | "sha512";

/** The server side of one SCRAM exchange (RFC 5802), for users whose passwords it knows. */
function scramServer(digest: ScramDigest, users: Readonly<Record<string, string>>) {
  const hmac = (key: Buffer, data: string) => createHmac(digest, key).update(data).digest();
  const hash = (data: Buffer) => createHash(digest).update(data).digest();
  let state:
    | { step: "first" }
    | { step: "final"; username: string; salted: Buffer; nonce: string; authStart: string } = {
    step: "first",
  };
  return {
    get username() {
      return state.step === "final" ? state.username : "";
    },
    /** The server's next message, or an error when the client failed. */
    respond(message: string): { reply: string; done: boolean } | { error: string } {
      if (state.step === "first") {
        const match = /^[ny],[^,]*,(n=([^,]*),r=([^,]+).*)$/.exec(message);
        if (match === null)
          return { error: "Authentication failed: invalid SCRAM client-first-message" };
        const [, bare = "", encodedName = "", clientNonce = ""] = match;
        const username = encodedName.replaceAll("=2C", ",").replaceAll("=3D", "=");
        const password = users[username];
        if (password === undefined)
          return { error: "Authentication failed: Invalid user credentials" };
        const salt = randomBytes(16);
        const iterations = 4096;
        const nonce = clientNonce + randomBytes(18).toString("base64url");
        const serverFirst = `r=${nonce},s=${salt.toString("base64")},i=${iterations}`;
        const salted = pbkdf2Sync(
          password,
          salt,
          iterations,
          digest === "sha256" ? 32 : 64,
          digest,
        );
        state = { step: "final", username, salted, nonce, authStart: `${bare},${serverFirst}` };
        return { reply: serverFirst, done: false };
      }
      const match = /^(c=[^,]*,r=([^,]+)),p=([^,]+)$/.exec(message);
      if (match === null || match[2] !== state.nonce) {
        return { error: "Authentication failed: invalid SCRAM client-final-message" };
      }
      const [, withoutProof = "", , proof = ""] = match;
      const authMessage = `${state.authStart},${withoutProof}`;
      const clientKey = hmac(state.salted, "Client Key");
      const signature = hmac(hash(clientKey), authMessage);
      const sent = Buffer.from(proof, "base64");
      if (sent.length !== clientKey.length)
        return { error: "Authentication failed: Invalid user credentials" };
      const recovered = Buffer.from(sent.map((byte, index) => byte ^ (signature[index] ?? 0)));
      if (!timingSafeEqual(hash(recovered), hash(clientKey))) {
        return { error: "Authentication failed: Invalid user credentials" };
      }
      const serverSignature = hmac(hmac(state.salted, "Server Key"), authMessage);
      return { reply: `v=${serverSignature.toString("base64")}`, done: true };
    },
  };
}

/** The SASL exchange of one connection: handshake, then one or two authenticate rounds. */
function saslSession(sasl: NonNullable<KafkaAuthGatewayOptions["sasl"]>) {
  let mechanism: SaslMechanismName | undefined;
  let scram: ReturnType<typeof scramServer> | undefined;
  return {
    handshake(requested: string): number {
      const wanted = requested.toUpperCase() as SaslMechanismName;
      if (!sasl.mechanisms.includes(wanted)) return errors.unsupportedMechanism;
      mechanism = wanted;
      if (wanted !== "PLAIN")
        scram = scramServer(wanted === "SCRAM-SHA-256" ? "sha256" : "sha512", sasl.users);
      return errors.none;
    },
    authenticate(
      authBytes: Buffer,
    ): { reply: Buffer; done: boolean; username: string } | { error: string; username: string } {
      if (mechanism === undefined)
        return { error: "SaslAuthenticate before SaslHandshake", username: "" };
      if (mechanism === "PLAIN") {
        const [, username = "", password] = authBytes.toString("utf8").split("\0");
        const expected = sasl.users[username];
        return expected !== undefined && password === expected
          ? { reply: Buffer.alloc(0), done: true, username }
          : { error: "Authentication failed: Invalid username or password", username };
      }
      const answer = scram?.respond(authBytes.toString("utf8")) ?? { error: "no SCRAM exchange" };
      const username = scram?.username ?? "";
      return "error" in answer
        ? { error: answer.error, username }
        : { reply: Buffer.from(answer.reply), done: answer.done, username };
    },
    get mechanism() {
      return mechanism ?? "";
    },
  };
}

/** Starts the gateway on 127.0.0.1 in front of the mock broker. */
export async function startKafkaAuthGateway(
  options: KafkaAuthGatewayOptions,
): Promise<KafkaAuthGateway> {
  const [upstreamHost = "", upstreamPort = ""] = options.upstream.split(":");
  const advertisedHost = options.advertisedHost ?? "localhost";
  const authentications: Authentication[] = [];
  const tlsClients: { clientCertificate: string | undefined }[] = [];
  const sockets = new Set<Socket>();
  let port = 0;

  const serve = (client: Socket) => {
    sockets.add(client);
    const upstream = connect(Number(upstreamPort), upstreamHost);
    sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);

    const session = options.sasl === undefined ? undefined : saslSession(options.sasl);
    let authenticated = session === undefined;
    /**
     * Answers in request order: a local answer may not overtake an upstream one. Every request
     * forwarded is answered (the clients here never produce with acks=0).
     */
    const slots: {
      correlationId: number;
      apiKey: number;
      version: number;
      answer?: Buffer;
      closeAfter?: boolean;
    }[] = [];
    const flush = () => {
      while (slots[0]?.answer !== undefined) {
        const slot = slots.shift();
        if (slot?.answer === undefined) break;
        client.write(slot.answer);
        if (slot.closeAfter) {
          client.end();
          upstream.destroy();
          return;
        }
      }
    };

    const onRequest = (request: Buffer) => {
      const read = reader(request);
      const apiKey = read.int16();
      const version = read.int16();
      const correlationId = read.int32();
      read.string();
      const slot: (typeof slots)[number] = { correlationId, apiKey, version };
      slots.push(slot);
      if (apiKey === apiKeys.saslHandshake && session !== undefined && !authenticated) {
        const mechanism = read.string() ?? "";
        const code = session.handshake(mechanism);
        const enabled = options.sasl?.mechanisms ?? [];
        slot.answer = frame(
          correlationId,
          Buffer.concat([int16(code), int32(enabled.length), ...enabled.map(string)]),
        );
        slot.closeAfter = code !== errors.none;
      } else if (apiKey === apiKeys.saslAuthenticate && session !== undefined && !authenticated) {
        const result = session.authenticate(read.bytes());
        const failed = "error" in result;
        if (failed || result.done) {
          authentications.push({
            mechanism: session.mechanism,
            username: result.username,
            ok: !failed,
          });
        }
        if (!failed && result.done) authenticated = true;
        const lifetime = version >= 1 ? Buffer.alloc(8) : Buffer.alloc(0);
        slot.answer = frame(
          correlationId,
          failed
            ? Buffer.concat([
                int16(errors.authFailed),
                string(result.error),
                bytes(Buffer.alloc(0)),
                lifetime,
              ])
            : Buffer.concat([int16(errors.none), string(null), bytes(result.reply), lifetime]),
        );
        slot.closeAfter = failed;
      } else if (!authenticated && apiKey !== apiKeys.apiVersions) {
        // A broker with SASL closes a connection that sends anything else before authenticating.
        slots.pop();
        close();
        return;
      } else {
        upstream.write(Buffer.concat([int32(request.length), request]));
        return;
      }
      flush();
    };

    const onResponse = (response: Buffer) => {
      const correlationId = response.readInt32BE(0);
      const slot = slots.find(
        (candidate) => candidate.correlationId === correlationId && candidate.answer === undefined,
      );
      if (slot === undefined) {
        close();
        return;
      }
      let body = response.subarray(4);
      if (slot.apiKey === apiKeys.apiVersions && slot.version <= 2)
        body = withSaslVersions(body, slot.version);
      if (slot.apiKey === apiKeys.metadata) {
        if (slot.version > 8) {
          console.error(
            `kafka auth gateway: Metadata v${slot.version} is not supported (up to v8)`,
          );
          close();
          return;
        }
        body = withGatewayAddress(body, slot.version, advertisedHost, port);
      }
      slot.answer = frame(correlationId, body);
      flush();
    };

    frames(client, onRequest);
    frames(upstream, onResponse);
  };

  const server: Server =
    options.tls === undefined
      ? createServer(serve)
      : createTlsServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            ...(options.tls.clientCa === undefined
              ? {}
              : { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
          (socket) => {
            const peer = socket.getPeerCertificate();
            tlsClients.push({ clientCertificate: peer?.subject?.CN as string | undefined });
            serve(socket);
          },
        );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the gateway has no port");
  port = address.port;

  return {
    bootstrap: `${advertisedHost}:${port}`,
    authentications,
    tlsClients,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Calls `onFrame` with each size-prefixed Kafka frame (without its size) read from `socket`. */
function frames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const size = buffered.readInt32BE(0);
      if (buffered.length < 4 + size) return;
      const payload = buffered.subarray(4, 4 + size);
      buffered = buffered.subarray(4 + size);
      onFrame(payload);
    }
  });
}
