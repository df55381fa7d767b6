import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { PGlite, type PGliteOptions } from "@electric-sql/pglite";
import {
  type DataFolderOrigin,
  prepareDataFolder,
  removeDataFolder,
} from "./pglite-data-folder.ts";
import { pgliteDialect } from "./pglite-dialect.ts";
import { pgliteInitdbParams, pgliteStartParams } from "./pglite-settings.ts";
import type { PgliteTemplate } from "./pglite-template.ts";
import { LeadershipLostError, type SqlBackend } from "./sql-backend.ts";

export type PgliteOpenOptions = {
  /**
   * What a new database starts from: a template (see pglite-template.ts), or undefined for
   * PGlite's own initdb. A template PGlite refuses (one made by another Postgres major) falls
   * back to initdb.
   */
  readonly template?: PgliteTemplate | undefined;
};

export type PgliteBackend = SqlBackend & {
  /** Where the database came from at this open, and why a template went unused. */
  readonly origin: DataFolderOrigin;
  readonly templateRefused?: string;
};

/**
 * Embedded Postgres (WebAssembly) in a folder, or in memory when `dataDir` is undefined.
 * One process at a time per folder: callers hold a DataDirLock.
 */
export async function openPgliteBackend(
  dataDir: string | undefined,
  options: PgliteOpenOptions = {},
): Promise<PgliteBackend> {
  const opened =
    dataDir === undefined
      ? await openInMemory(options.template)
      : await openFolder(dataDir, options.template);
  const { client } = opened;
  let closed = false;
  return {
    kind: "pglite",
    origin: opened.origin,
    ...(opened.templateRefused === undefined ? {} : { templateRefused: opened.templateRefused }),
    dialect: pgliteDialect(client),
    scriptTransaction: (work) =>
      client.transaction((transaction) =>
        work({
          exec: async (script) => {
            await transaction.exec(script);
          },
          query: async <Row>(text: string, parameters: readonly unknown[] = []) =>
            (await transaction.query<Row>(text, [...parameters])).rows,
        }),
      ),
    listen: async (channel, handler) => {
      const unsubscribe = await client.listen(channel, handler);
      return async () => {
        if (!closed) await unsubscribe();
      };
    },
    // One process per data folder (see data-dir-lock.ts): it is always the leader, and there
    // is nobody else to fence off (epoch 0, every check passes until the lock is released). One
    // connection never drops, so a subscription never needs to come back either.
    tryLeaderLock: async () => {
      let released = false;
      return {
        epoch: 0,
        lost: new Promise<void>(() => {}),
        confirm: async () => {
          if (released) throw new LeadershipLostError("the lock was released");
        },
        release: async () => {
          released = true;
        },
      };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

type Opened = {
  readonly client: PGlite;
  readonly origin: DataFolderOrigin;
  readonly templateRefused?: string;
};

async function openFolder(dataDir: string, template: PgliteTemplate | undefined): Promise<Opened> {
  const origin = await prepareDataFolder(dataDir, template, initdbInto);
  try {
    return { client: await start({ dataDir }), origin };
  } catch (error) {
    if (origin !== "template") throw error;
    // Postgres refused the copy (another major version, a damaged archive): start over the
    // way PGlite always has. Nothing was ever written to this folder but the template.
    await removeDataFolder(dataDir);
    await prepareDataFolder(dataDir, undefined, initdbInto);
    return {
      client: await start({ dataDir }),
      origin: "initdb",
      templateRefused: (error as Error).message,
    };
  }
}

async function openInMemory(template: PgliteTemplate | undefined): Promise<Opened> {
  if (template !== undefined) {
    try {
      // PGlite's tar reader runs in JavaScript; gunzip natively first.
      const tar = gunzipSync(await readFile(template.archive));
      return { client: await start({ loadDataDir: new Blob([tar]) }), origin: "template" };
    } catch (error) {
      return {
        client: await start({ initDbStartParams: [...pgliteInitdbParams] }),
        origin: "initdb",
        templateRefused: (error as Error).message,
      };
    }
  }
  return { client: await start({ initDbStartParams: [...pgliteInitdbParams] }), origin: "initdb" };
}

/** Makes a new cluster in `folder` with PGlite's own initdb, and shuts it down cleanly. */
async function initdbInto(folder: string): Promise<void> {
  const client = await start({ dataDir: folder, initDbStartParams: [...pgliteInitdbParams] });
  await client.close();
}

type WasmModule = NonNullable<PGliteOptions["pgliteWasmModule"]>;
/** The part of the global WebAssembly API used here (its types are the DOM library's). */
type WasmApi = { compileStreaming(source: Response): Promise<WasmModule> };

let pgliteModule: Promise<WasmModule> | undefined;
/**
 * PGlite's WebAssembly (9.4 MiB), compiled as it streams from disk. Left to PGlite, the file is
 * read into one buffer first, which outlives the compile (an idle service rarely runs the full
 * collection that frees it: ~9 MiB of idle RSS, bench/startup). Compiled once per process; a
 * compile that failed is tried again at the next open.
 */
function compiledPglite(): Promise<WasmModule> {
  pgliteModule ??= (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly.compileStreaming(
    new Response(
      Readable.toWeb(
        createReadStream(new URL("pglite.wasm", import.meta.resolve("@electric-sql/pglite"))),
      ) as ReadableStream<Uint8Array>,
      { headers: { "content-type": "application/wasm" } },
    ),
  ).catch((error: unknown) => {
    pgliteModule = undefined;
    throw error;
  });
  return pgliteModule;
}

/** PGlite.create with our settings. A refused start leaves process.exitCode set by Postgres. */
async function start(options: PGliteOptions): Promise<PGlite> {
  const exitCode = process.exitCode;
  try {
    return await PGlite.create({
      ...options,
      pgliteWasmModule: await compiledPglite(),
      startParams: [...pgliteStartParams],
    });
  } catch (error) {
    process.exitCode = exitCode;
    throw error;
  }
}
