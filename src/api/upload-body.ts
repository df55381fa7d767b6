import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import busboy from "busboy";
import { ProblemError } from "./problem.ts";

/**
 * Request bodies streamed to a file, never buffered: the only importer of busboy. The size
 * limit is kept while the bytes arrive, so an oversize upload is refused as soon as it passes
 * the limit, and the bytes are digested on the way (sha256, as `digestFile` computes it).
 */

export type ReceivedFile = {
  readonly bytes: number;
  /** sha256 of the bytes, lowercase hex. */
  readonly digest: string;
  readonly filename: string | undefined;
};

export type ReceivedForm = {
  readonly fields: ReadonlyMap<string, readonly string[]>;
  readonly file: ReceivedFile | undefined;
};

export type MultipartOptions = {
  readonly maxBytes: number;
  /** The name of the one file part. */
  readonly fileField: string;
  /** Checks the fields sent before the file, before its bytes are read; may throw. */
  readonly beforeFile?: (fields: ReadonlyMap<string, readonly string[]>) => void | Promise<void>;
};

/** Room for the fields and part headers around the file in a multipart body. */
export const multipartOverheadBytes = 1024 * 1024;

export function payloadTooLarge(maxBytes: number): ProblemError {
  return new ProblemError(
    "payload_too_large",
    `the upload is larger than ${maxBytes} bytes (UPLOAD_MAX_BYTES)`,
    { extensions: { max_bytes: maxBytes } },
  );
}

/** Refuses at once a body whose declared length is already over the limit. */
export function refuseDeclaredLength(request: Request, maxBytes: number): void {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw payloadTooLarge(maxBytes);
}

/**
 * Where the body comes from: the Node request itself when the server hands it over (no web
 * stream in between: less copying and garbage), else the web body (`app.request()` in tests).
 */
export type BodySource = { readonly request: Request; readonly incoming?: Readable | undefined };

function bodyStream(source: BodySource): { readonly stream: Readable; stop(): void } {
  const { request, incoming } = source;
  if (incoming !== undefined && !request.bodyUsed && !incoming.readableDidRead) {
    // Not destroyed on a refusal: the answer must still get out (the rest is read and dropped).
    return { stream: incoming, stop: () => linger(incoming) };
  }
  if (request.body === null) {
    throw new ProblemError("validation_failed", "the request has no body: send the archive", {
      errors: [{ path: "file", message: "required" }],
    });
  }
  const stream = Readable.fromWeb(request.body as WebReadableStream<Uint8Array>);
  return { stream, stop: () => stream.destroy() };
}

/**
 * After an early refusal, reads and discards what the client still sends for a short while
 * ("lingering close", as HTTP servers do): closing a socket with unread bytes makes the kernel
 * reset the connection, and the client would lose the answer that explains why.
 */
function linger(incoming: Readable, maxMs = 10_000, maxBytes = 64 * 1024 * 1024): void {
  let discarded = 0;
  const stop = () => {
    incoming.off("data", discard);
    incoming.destroy();
  };
  const discard = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > maxBytes) stop();
  };
  incoming.on("data", discard);
  incoming.resume();
  setTimeout(stop, maxMs).unref();
}

/** Counts, digests and limits the bytes passing through. */
function meter(maxBytes: number) {
  const hash = createHash("sha256");
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        callback(payloadTooLarge(maxBytes));
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  return { stream, result: () => ({ bytes, digest: hash.digest("hex") }) };
}

/** The whole body (an archive sent as application/gzip, x-tar or zip) into `target`. */
export async function receiveRawBody(
  source: BodySource,
  target: string,
  maxBytes: number,
): Promise<ReceivedFile> {
  refuseDeclaredLength(source.request, maxBytes);
  const input = bodyStream(source);
  const metered = meter(maxBytes);
  const sink = createWriteStream(target, { flags: "wx" });
  // Piped by hand: a refusal stops the input instead of destroying it (the answer must get out).
  const onError = (error: Error) => metered.stream.destroy(error);
  const onClose = () => {
    if (!input.stream.readableEnded) metered.stream.destroy(new Error("the client went away"));
  };
  input.stream.once("error", onError);
  input.stream.once("close", onClose);
  input.stream.pipe(metered.stream);
  try {
    await pipeline(metered.stream, sink);
  } catch (error) {
    input.stream.unpipe(metered.stream);
    input.stop();
    if (error instanceof ProblemError) throw error;
    throw new ProblemError(
      "bad_request",
      `the upload was interrupted: ${(error as Error).message}`,
    );
  } finally {
    input.stream.off("error", onError);
    input.stream.off("close", onClose);
  }
  return { ...metered.result(), filename: undefined };
}

/**
 * A multipart/form-data body: its fields, and its one file part written to `target`. Parsing
 * stops at the first problem (a second file, a file over the limit, a field refused by
 * `beforeFile`), without reading the rest of the body.
 */
export async function receiveMultipart(
  source: BodySource,
  target: string,
  options: MultipartOptions,
): Promise<ReceivedForm> {
  const { request } = source;
  refuseDeclaredLength(request, options.maxBytes + multipartOverheadBytes);
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": request.headers.get("content-type") ?? "" },
      limits: {
        fileSize: options.maxBytes,
        files: 1,
        fields: 100,
        parts: 101,
        fieldSize: 256 * 1024,
      },
    });
  } catch (error) {
    throw new ProblemError(
      "bad_request",
      `malformed multipart request: ${(error as Error).message}`,
    );
  }
  const input = bodyStream(source);
  const fields = new Map<string, string[]>();

  return new Promise<ReceivedForm>((resolve, reject) => {
    let settled = false;
    let file: Promise<ReceivedFile> | undefined;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      input.stream.unpipe(parser);
      input.stop();
      reject(
        error instanceof ProblemError
          ? error
          : new ProblemError(
              "bad_request",
              `malformed multipart request: ${(error as Error).message ?? String(error)}`,
            ),
      );
    };
    const refuse = (message: string, path = "file") =>
      fail(new ProblemError("validation_failed", message, { errors: [{ path, message }] }));

    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) {
        refuse(`field ${name} is longer than 256 KiB`, name);
        return;
      }
      fields.set(name, [...(fields.get(name) ?? []), value]);
    });
    parser.on("file", (name, stream, info) => {
      if (name !== options.fileField || file !== undefined) {
        stream.resume();
        refuse(
          name !== options.fileField
            ? `unexpected file part "${name}": send the archive as the "${options.fileField}" field`
            : "send one file",
          name,
        );
        return;
      }
      const metered = meter(options.maxBytes);
      stream.once("limit", () => fail(payloadTooLarge(options.maxBytes)));
      file = (async () => {
        await options.beforeFile?.(fields);
        await pipeline(stream, metered.stream, createWriteStream(target, { flags: "wx" }));
        if (stream.truncated) throw payloadTooLarge(options.maxBytes);
        return { ...metered.result(), filename: info.filename };
      })();
      file.catch((error: unknown) => {
        stream.resume();
        fail(error);
      });
    });
    parser.on("filesLimit", () => refuse("send one file"));
    parser.on("fieldsLimit", () => refuse("too many fields (at most 100)", ""));
    parser.on("partsLimit", () => refuse("too many parts (at most 101)", ""));
    parser.on("error", fail);
    input.stream.on("error", fail);
    input.stream.once("close", () => {
      if (!input.stream.readableEnded) fail(new Error("the client went away"));
    });
    parser.on("close", () => {
      (file ?? Promise.resolve(undefined)).then((received) => {
        if (settled) return;
        settled = true;
        resolve({ fields, file: received });
      }, fail);
    });
    input.stream.pipe(parser);
  });
}
