import { rm } from "node:fs/promises";
import pMap from "p-map";
import type { LoadedDocument } from "../gitops/load.ts";
import { type PackedSource, packSource } from "../gitops/pack-source.ts";
import { CliError } from "./client.ts";

export type PackedSources = {
  /** By source folder (absolute): several documents may build the same folder. */
  readonly byFolder: ReadonlyMap<string, PackedSource>;
  /** Removes the temporary archives. */
  cleanup(): Promise<void>;
};

const packConcurrency = 4;

/** Packs every distinct `spec.source` folder of the documents, a few at a time. */
export async function packSources(documents: readonly LoadedDocument[]): Promise<PackedSources> {
  const folders = [...new Set(documents.flatMap((document) => document.source ?? []))];
  const byFolder = new Map<string, PackedSource>();
  const cleanup = async () => {
    await Promise.all([...byFolder.values()].map((packed) => rm(packed.file, { force: true })));
  };
  const failures: string[] = [];
  await pMap(
    folders,
    async (folder) => {
      try {
        byFolder.set(folder, await packSource(folder));
      } catch (error) {
        failures.push(`cannot pack ${folder}: ${(error as Error).message}`);
      }
    },
    { concurrency: packConcurrency },
  );
  if (failures.length > 0) {
    await cleanup();
    throw new CliError(failures.join("\n"));
  }
  return { byFolder, cleanup };
}
