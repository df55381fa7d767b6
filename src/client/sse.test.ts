import { describe, expect, it } from "vitest";
import { sseMessages } from "./sse.ts";

function streamOf(...chunks: string[]) {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

describe("sseMessages", () => {
  it("parses unnamed and named messages split anywhere, skipping keep-alives", async () => {
    const messages = [];
    for await (const message of sseMessages(
      streamOf(
        "id: 1\nda",
        'ta: {"a":1}\n\n: keep-alive\n\n',
        "event: end\r\ndata: x\r\ndata: y\r\n\r\n",
      ),
    )) {
      messages.push(message);
    }
    expect(messages).toEqual([
      { event: "message", data: '{"a":1}', id: "1" },
      { event: "end", data: "x\ny" },
    ]);
  });
});
