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
): Promise<void> {
  const stream = Readable.toWeb(createReadStream(packed.file)) as ReadableStream<Uint8Array>;
  await callApiWithBody(settings, "PUT", `/api/images/${imageId}/source`, {
    stream,
    contentType: "application/gzip",
    contentLength: packed.bytes,
    headers: { "x-source-digest": packed.digest },
  });
}
