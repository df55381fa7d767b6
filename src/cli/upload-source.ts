import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { PackedSource } from "../gitops/pack-source.ts";
import { type ClientSettings, callApiWithBody } from "./client.ts";

/**
 * `PUT /api/images/{id}/source`: the packed build context, streamed from its file, with its
 * digest in `x-source-digest` so that the server refuses bytes changed on the way.
 */
export async function uploadSource(
  settings: ClientSettings,
  imageId: number,
  packed: PackedSource,
  onProgress?: (sentBytes: number) => void,
): Promise<void> {
  let sent = 0;
  const counted = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      sent += chunk.byteLength;
      onProgress?.(sent);
      controller.enqueue(chunk);
    },
  });
  const stream = (
    Readable.toWeb(createReadStream(packed.file)) as ReadableStream<Uint8Array>
  ).pipeThrough(counted);
  await callApiWithBody(settings, "PUT", `/api/images/${imageId}/source`, {
    stream,
    contentType: "application/gzip",
    contentLength: packed.bytes,
    headers: { "x-source-digest": packed.digest },
  });
}

/** Shows an upload as it goes; only on a terminal (a pipe gets the line at the end). */
export type UploadDisplay = {
  readonly progress: (
    name: string,
    sentBytes: number,
    totalBytes: number,
    elapsedMs: number,
  ) => void;
  /** Clears the progress line before the next line is printed. */
  readonly clear: () => void;
};
