import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

/** Reads Server-Sent Events from a response until `count` events arrived. */
async function readEvents(
  response: Response,
  count: number,
): Promise<Array<{ id: string; event: string; data: any }>> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: Array<{ id: string; event: string; data: any }> = [];
  let buffer = "";
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let boundary = buffer.indexOf("\n\n");
    while (boundary >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      boundary = buffer.indexOf("\n\n");
      const fields = Object.fromEntries(
        block
          .split("\n")
          .filter((line) => !line.startsWith(":") && line.includes(":"))
          .map((line) => [
            line.slice(0, line.indexOf(":")),
            line.slice(line.indexOf(":") + 1).trim(),
          ]),
      );
      if (fields.data !== undefined)
        events.push({
          id: fields.id ?? "",
          // What an EventSource dispatches: unnamed events go to `onmessage`.
          event: fields.event ?? "message",
          data: JSON.parse(fields.data),
        });
    }
  }
  await reader.cancel();
  return events;
}

describe("GET /api/events?follow=1", () => {
  let server: TestServer;
  let alice: string;
  beforeAll(async () => {
    server = await startTestServer();
    alice = await server.createUser("alice");
  });
  afterAll(() => server?.stop());

  const follow = (token: string, headers: Record<string, string> = {}, query = "") =>
    fetch(`${server.url}/api/events?follow=1${query}`, {
      headers: { authorization: `Bearer ${token}`, ...headers },
    });

  it("streams new events as they are written, and resumes after Last-Event-ID", async () => {
    // Only the scaling events: the containers the scaling starts write events of their own.
    const response = await follow(alice, {}, "&type=image.scaled");
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const image = (
      await server.request("POST", "/api/images", {
        token: alice,
        body: { name: "streamed", image: testImages.httpd, desired_instances: 0 },
      })
    ).body;
    for (const count of [1, 2, 3]) {
      await server.request("PATCH", `/api/images/${image.id}`, {
        token: alice,
        body: { desired_instances: count },
      });
    }
    const events = await readEvents(response, 3);
    // Unnamed, so that a browser's EventSource `onmessage` receives them; the type is in the data.
    expect(events.map((event) => event.event)).toEqual(["message", "message", "message"]);
    expect(events.map((event) => event.data.type)).toEqual([
      "image.scaled",
      "image.scaled",
      "image.scaled",
    ]);
    expect(events.map((event) => event.data.data.desired_instances)).toEqual([1, 2, 3]);

    const resumed = await readEvents(
      await follow(alice, { "last-event-id": events[0]?.id as string }, "&type=image.scaled"),
      2,
    );
    expect(resumed.map((event) => event.id)).toEqual([events[1]?.id, events[2]?.id]);
  });

  it("never streams another tenant's events", async () => {
    const bob = await server.createUser("bob");
    const response = await follow(bob);
    await server.request("POST", "/api/images", {
      token: bob,
      body: { name: "bobs", image: testImages.httpd, desired_instances: 0 },
    });
    const bobsImage = (await server.request("GET", "/api/images", { token: bob })).body.items[0];
    await server.request("PATCH", `/api/images/${bobsImage.id}`, {
      token: bob,
      body: { desired_instances: 1 },
    });
    const events = await readEvents(response, 1);
    expect(events.every((event) => event.data.user_id === String(bobsImage.user_id))).toBe(true);
    expect(events[0]?.data.image_id).toBe(bobsImage.id);
  });
});
