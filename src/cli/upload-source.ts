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

/** `512 B`, `12.3 KiB`, `4.0 MiB`. Pure. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
