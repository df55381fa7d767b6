import { readFile } from "node:fs/promises";
import pMap from "p-map";
import { dependencyIssues } from "../domain/dependencies.ts";
import { type FileError, sortFileErrors } from "./file-error.ts";
import { findDocumentFiles } from "./find-files.ts";
import { type NamedAt, parseDocuments } from "./parse-documents.ts";
import { resolveSourceFolder } from "./source-folder.ts";
import type { DocumentSpec } from "./validate-document.ts";
import type { Position } from "./yaml-position.ts";

/** One valid document of a desired-state file. */
export type LoadedDocument = {
  /** The file as the user named it. */
  readonly file: string;
  /** Where its `metadata.name` is, for messages about it. */
  readonly line: number;
  readonly column: number;
  readonly name: string;
  /** Canonical, with defaults: what the API's create schema makes of it, minus the name. */
  readonly spec: DocumentSpec;
  /** For `spec.source`: the absolute, symlink-free folder to pack. */
  readonly source?: string;
  /** Where each entry of `spec.depends_on` is. */
  readonly dependsOnPositions: readonly Position[];
  /** Whether `spec.desired_instances` is written (else the default is in `spec`). */
  readonly desiredInstancesWritten?: boolean;
};

export type LoadResult = {
  /** The valid documents; apply nothing unless `errors` is empty. */
  readonly documents: readonly LoadedDocument[];
  /** Every problem of every file, sorted by file and position. */
  readonly errors: readonly FileError[];
  /** Every desired-state file read, as the user named it, in order. */
  readonly files: readonly string[];
};

export type LoadOptions = {
  /**
   * The server's MAX_INSTANCES_CAP when known; by default only the schema's own ceiling is
   * checked and the server checks its cap when the set is applied.
   */
  readonly maxInstancesCap?: number;
  /**
   * Check `spec.source` folders (default true). Off for commands that only need the names
   * (`orchestrator delete -f`): a document whose folder is gone still names its image.
   */
  readonly checkSources?: boolean;
};

const schemaInstanceCeiling = 10_000;
const readConcurrency = 16;

type Named = NamedAt & { readonly file: string };

function duplicateErrors(names: readonly Named[]): FileError[] {
  const first = new Map<string, Named>();
  const errors: FileError[] = [];
  for (const named of names) {
    const earlier = first.get(named.name);
    if (earlier === undefined) {
      first.set(named.name, named);
      continue;
    }
    errors.push({
      file: named.file,
      line: named.line,
      column: named.column,
      path: "metadata.name",
      message: `duplicate name "${named.name}", also at ${earlier.file}:${earlier.line}:${earlier.column}`,
    });
  }
  return errors;
}

/**
 * Cycles among the set's documents, at the `depends_on` entry that starts each. Names outside
 * the set may be images the server has: the server checks those when the set is applied.
 */
function dependencyCycleErrors(documents: readonly LoadedDocument[]): FileError[] {
  const byName = new Map(documents.map((document) => [document.name, document]));
  const nodes = documents.map((document) => ({
    name: document.name,
    depends_on: document.spec.depends_on,
  }));
  const issues = dependencyIssues(
    nodes,
    nodes.map((node) => node.name),
    { unknownAllowed: true },
  );
  return issues.flatMap((issue) => {
    const document = byName.get(issue.image);
    if (document === undefined) return [];
    const position = document.dependsOnPositions[issue.index] ?? document;
    return [
      {
        file: document.file,
        line: position.line,
        column: position.column,
        path: `spec.depends_on[${issue.index}]`,
        message: issue.message,
      },
    ];
  });
}

/**
 * Reads the desired-state files of the given files and folders (folders recursively) and
 * validates every document, collecting all errors of all files before returning; `spec.source`
 * folders are checked too (they exist, hold a Dockerfile and stay inside the repository root).
 */
export async function loadDocuments(
  paths: readonly string[],
  options: LoadOptions = {},
): Promise<LoadResult> {
  const maxInstancesCap = options.maxInstancesCap ?? schemaInstanceCeiling;
  const found = await findDocumentFiles(paths);
  const errors: FileError[] = [...found.errors];
  const names: Named[] = [];
  const documents: LoadedDocument[] = [];
  // Read ahead, a few files at a time: a repository of 500 files is I/O-bound read one by one.
  const texts = await pMap(
    found.files,
    (documentFile) => readFile(documentFile.absolute, "utf8").catch((error: Error) => error),
    { concurrency: readConcurrency },
  );
  for (const [index, documentFile] of found.files.entries()) {
    const text = texts[index];
    if (typeof text !== "string") {
      const message = `cannot read: ${text?.message}`;
      errors.push({ file: documentFile.file, line: 1, column: 1, path: "", message });
      continue;
    }
    const parsed = parseDocuments(text, documentFile.file, maxInstancesCap);
    errors.push(...parsed.errors);
    names.push(...parsed.names.map((named) => ({ ...named, file: documentFile.file })));
    const checked = await Promise.all(
      parsed.documents.map(async (document) => {
        const { file, absolute, givenRoot } = documentFile;
        const { line, column } = document.namePosition;
        const loaded = {
          file,
          line,
          column,
          name: document.name,
          spec: document.spec,
          dependsOnPositions: document.dependsOnPositions,
          desiredInstancesWritten: document.desiredInstancesWritten,
        };
        if (document.source === undefined || options.checkSources === false) return loaded;
        const folder = await resolveSourceFolder(absolute, document.source, givenRoot);
        if (folder.ok) return { ...loaded, source: folder.folder };
        const position = document.sourcePosition ?? document.namePosition;
        errors.push({ file, ...position, path: "spec.source", message: folder.message });
        return undefined;
      }),
    );
    for (const document of checked) if (document !== undefined) documents.push(document);
  }
  errors.push(...duplicateErrors(names), ...dependencyCycleErrors(documents));
  const files = found.files.map((file) => file.file);
  return { documents, errors: sortFileErrors(errors, files), files };
}
