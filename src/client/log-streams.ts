import { sseMessages } from "./sse.ts";
import type { Transport } from "./transport.ts";

/** One message of a followed build log. */
export type BuildLogMessage =
  | { readonly kind: "log"; readonly line: string }
  | { readonly kind: "build"; readonly buildGeneration: number }
  | {
      readonly kind: "end";
      readonly status: string;
      readonly failureReason: string | null;
      readonly error: string | null;
    };

/** Splits a text stream into lines (the last one too, when it has no newline). */
export async function* textLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
      yield buffered.slice(0, end).replace(/\r$/, "");
      buffered = buffered.slice(end + 1);
    }
  }
  buffered += decoder.decode();
  if (buffered.length > 0) yield buffered;
}

/**
 * `GET /api/containers/{id}/logs?follow=1`, line by line, until the container ends; an abort of
 * `signal` ends it quietly.
 */
export async function* followLogLines(
  transport: Transport,
  id: string,
  options: { tail?: number; since?: Date; signal?: AbortSignal },
): AsyncGenerator<string> {
  try {
    const response = await transport.send("GET", `/api/containers/${id}/logs`, {
      query: { follow: 1, tail: options.tail, since: options.since?.toISOString() },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (response.body === null) return;
    yield* textLines(response.body);
  } catch (error) {
    if (!options.signal?.aborted) throw error;
  }
}

/** `GET /api/images/{id}/build-logs?follow=1` (SSE), until the build ends or `signal` aborts. */
export async function* followBuildLog(
  transport: Transport,
  id: number,
  options: { signal?: AbortSignal },
): AsyncGenerator<BuildLogMessage> {
  try {
    const response = await transport.send("GET", `/api/images/${id}/build-logs`, {
      query: { follow: 1 },
      headers: { accept: "text/event-stream" },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (response.body === null) return;
    for await (const message of sseMessages(response.body)) {
      if (message.event === "log") yield { kind: "log", line: message.data };
      else if (message.event === "build") {
        const data = JSON.parse(message.data) as { build_generation: number };
        yield { kind: "build", buildGeneration: data.build_generation };
      } else if (message.event === "end") {
        const data = JSON.parse(message.data) as {
          status: string;
          failure_reason: string | null;
          error: string | null;
        };
        yield {
          kind: "end",
          status: data.status,
          failureReason: data.failure_reason,
          error: data.error,
        };
        return;
      }
    }
  } catch (error) {
    if (!options.signal?.aborted) throw error;
  }
}
