import { expect } from "vitest";
import type { Consumption } from "../support/kafka-broker.ts";
import { waitFor } from "../support/wait.ts";

/**
 * Calls the API in a loop while faults happen and sorts the answers: what a client sees of an
 * outage. A database that is away must be a 503 problem+json (`unavailable`), never a 500.
 */
export function hammer(baseUrl: string, token: string, imageId: number) {
  const answers = { ok: 0, unavailable: 0, other: [] as string[] };
  let stopped = false;
  const paths = [
    ["GET", `/api/images/${imageId}`],
    ["GET", `/api/images/${imageId}/containers`],
    ["GET", `/api/events?image_id=${imageId}&limit=5`],
    ["POST", "/api/users"],
  ] as const;
  const loop = (async () => {
    for (let round = 0; !stopped; round++) {
      const [method, path] = paths[round % paths.length] as (typeof paths)[number];
      try {
        const response = await fetch(`${baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          ...(method === "POST" ? { body: JSON.stringify({ name: `hammer-${round}` }) } : {}),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await response.text();
        if (response.status < 300) answers.ok += 1;
        else if (
          response.status === 503 &&
          response.headers.get("content-type") === "application/problem+json" &&
          JSON.parse(text).code === "unavailable"
        )
          answers.unavailable += 1;
        else answers.other.push(`${method} ${path} → ${response.status} ${text.slice(0, 300)}`);
      } catch (error) {
        answers.other.push(`${method} ${path} → ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    answers,
    stop: async () => {
      stopped = true;
      await loop;
      return answers;
    },
  };
}

/**
 * Follows `/api/events?follow=1` (Server-Sent Events) for one image as a browser's EventSource
 * does: when the stream ends (the database went away under it), it connects again with
 * Last-Event-ID and goes on from there. Collects the events.
 */
export async function followEvents(baseUrl: string, token: string, imageId: number) {
  const abort = new AbortController();
  const events: any[] = [];
  let lastId: string | undefined;
  const readOnce = async () => {
    const response = await fetch(`${baseUrl}/api/events?follow=1&image_id=${imageId}`, {
      headers: {
        authorization: `Bearer ${token}`,
        ...(lastId === undefined ? {} : { "last-event-id": lastId }),
      },
      signal: abort.signal,
    });
    if (response.status !== 200 || response.body === null) return;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffered += value;
      for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
        const block = buffered.slice(0, end).split("\n");
        buffered = buffered.slice(end + 2);
        const data = block
          .filter((line) => line.startsWith("data: "))
          .map((line) => line.slice(6))
          .join("\n");
        const id = block.find((line) => line.startsWith("id: "))?.slice(4);
        if (data.length === 0) continue;
        events.push(JSON.parse(data));
        if (id !== undefined) lastId = id;
      }
    }
  };
  void (async () => {
    while (!abort.signal.aborted) {
      await readOnce().catch(() => {});
      if (!abort.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  })();
  return {
    events,
    waitFor: (done: (events: readonly any[]) => boolean) =>
      waitFor(async () => events, done, { timeoutMs: 60_000, what: "the event on the stream" }),
    close: () => abort.abort(),
  };
}

/**
 * Every event of `recorded` (one image's events, in database order) reaches Kafka, keyed by the
 * image, in the same order once duplicates are dropped (delivery is at least once: a batch sent
 * but not marked before a fault is sent again).
 */
export async function expectOnKafka(
  consumption: Consumption,
  imageId: number,
  recorded: readonly any[],
): Promise<void> {
  const ids = recorded.map((event) => event.id as string);
  const arrived = await waitFor(
    async () => consumption.messages.filter((message) => message.key === String(imageId)),
    (messages) => {
      const received = new Set(messages.map((message) => message.event?.id));
      return ids.every((id) => received.has(id));
    },
    { timeoutMs: 90_000, what: "every event on Kafka" },
  );
  const firstSeen: string[] = [];
  const seen = new Set<string>();
  for (const message of arrived) {
    const id = message.event?.id as string;
    if (!seen.has(id)) firstSeen.push(id);
    seen.add(id);
  }
  expect(firstSeen, "events on Kafka, in per-image order").toEqual(ids);
}
