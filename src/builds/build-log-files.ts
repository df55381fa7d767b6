import { EventEmitter } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, open, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

/** Bytes of a log read per call; followers read on until they catch up. */
const readChunkBytes = 256 * 1024;

export type LogWriter = {
  write(text: string): void;
  /** Flushes and closes the file: everything written is readable once it resolves. */
  close(): Promise<void>;
};

/**
 * The full log of each build in a file, `{logs}/{image_id}/{generation}.log`, and in-process
 * wake-ups for those following it. The file is the source of truth; a wake-up only says
 * "look again", so a follower never misses a line.
 */
export function createBuildLogFiles(logsDir: string) {
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const folderOf = (imageId: number) => join(logsDir, String(imageId));
  const fileOf = (imageId: number, generation: number) =>
    join(folderOf(imageId), `${generation}.log`);
  const changed = (imageId: number) => changes.emit(String(imageId));

  return {
    fileOf,

    /** Starts the log of a build (an earlier file of the same generation is replaced). */
    async create(imageId: number, generation: number): Promise<LogWriter> {
      await mkdir(folderOf(imageId), { recursive: true });
      const stream = createWriteStream(fileOf(imageId, generation), { flags: "w" });
      await new Promise<void>((resolve, reject) => {
        stream.once("open", () => resolve());
        stream.once("error", reject);
      });
      let failed: unknown;
      stream.on("error", (error) => {
        failed = error;
      });
      return {
        write(text) {
          if (failed !== undefined || text === "") return;
          stream.write(text, () => changed(imageId));
        },
        close: () =>
          new Promise<void>((resolve) => {
            stream.end(() => {
              changed(imageId);
              resolve();
            });
          }),
      };
    },

    /** Up to 256 KiB from `offset`; nothing (and the same offset) when there is no file. */
    async read(
      imageId: number,
      generation: number,
      offset: number,
    ): Promise<{ readonly data: Buffer; readonly exists: boolean }> {
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(fileOf(imageId, generation), "r");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
          return { data: Buffer.alloc(0), exists: false };
        }
        throw error;
      }
      try {
        const buffer = Buffer.alloc(readChunkBytes);
        const { bytesRead } = await handle.read(buffer, 0, readChunkBytes, offset);
        return { data: buffer.subarray(0, bytesRead), exists: true };
      } finally {
        await handle.close();
      }
    },

    /**
     * The whole log of a build, or its head and tail around a marker when it is longer than
     * `maxBytes`; undefined when there is no file (the build has not started here).
     */
    async readAll(
      imageId: number,
      generation: number,
      maxBytes: number,
    ): Promise<{ readonly text: string; readonly truncated: boolean } | undefined> {
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(fileOf(imageId, generation), "r");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
      try {
        const { size } = await handle.stat();
        const readAt = async (position: number, length: number) => {
          const buffer = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buffer, 0, length, position);
          return buffer.subarray(0, bytesRead).toString("utf8");
        };
        if (size <= maxBytes) return { text: await readAt(0, size), truncated: false };
        const headBytes = Math.floor(maxBytes / 4);
        const tailBytes = maxBytes - headBytes;
        const omitted = size - headBytes - tailBytes;
        return {
          text: `${await readAt(0, headBytes)}\n[... ${omitted} bytes omitted ...]\n${await readAt(size - tailBytes, tailBytes)}`,
          truncated: true,
        };
      } finally {
        await handle.close();
      }
    },

    /** Calls back when a log of the image grew or ended; returns the unsubscribe function. */
    onChange(imageId: number, callback: () => void): () => void {
      changes.on(String(imageId), callback);
      return () => changes.off(String(imageId), callback);
    },

    changed,

    /** Removes the logs of earlier builds of an image. */
    async removeOlder(imageId: number, generation: number): Promise<void> {
      const files = await readdir(folderOf(imageId)).catch(() => [] as string[]);
      for (const file of files) {
        const match = /^(\d+)\.log$/.exec(file);
        if (match !== null && Number(match[1]) < generation) {
          await rm(join(folderOf(imageId), file), { force: true });
        }
      }
    },

    async removeAll(imageId: number): Promise<void> {
      await rm(folderOf(imageId), { recursive: true, force: true });
      changed(imageId);
    },
  };
}

export type BuildLogFiles = ReturnType<typeof createBuildLogFiles>;
