import { LineCounter, parseAllDocuments } from "yaml";
import { type FileError, sortFileErrors } from "./file-error.ts";
import { type ValidDocument, validateDocument } from "./validate-document.ts";

export type NamedAt = { readonly name: string; readonly line: number; readonly column: number };

export type ParsedFile = {
  readonly documents: readonly ValidDocument[];
  /** Every valid `metadata.name`, also of documents with other errors. */
  readonly names: readonly NamedAt[];
  readonly errors: readonly FileError[];
};

/**
 * Parses the documents of one desired-state file (`---` between them) and validates each.
 * A document with YAML errors reports only those; empty documents are skipped. Pure.
 */
export function parseDocuments(text: string, file: string, maxInstancesCap: number): ParsedFile {
  const lineCounter = new LineCounter();
  const documents: ValidDocument[] = [];
  const names: NamedAt[] = [];
  const errors: FileError[] = [];
  for (const document of parseAllDocuments(text, { lineCounter, prettyErrors: false })) {
    const yamlProblems = [...document.errors, ...document.warnings];
    if (yamlProblems.length > 0) {
      for (const problem of yamlProblems) {
        const { line, col } = lineCounter.linePos(problem.pos[0]);
        errors.push({ file, line, column: col, path: "", message: problem.message });
      }
      continue;
    }
    const result = validateDocument(document, lineCounter, maxInstancesCap);
    for (const issue of result.issues) errors.push({ file, ...issue });
    if (result.document !== undefined) documents.push(result.document);
    if (result.name !== undefined) names.push({ name: result.name.value, ...result.name.position });
  }
  return { documents, names, errors: sortFileErrors(errors) };
}
