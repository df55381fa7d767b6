/** One problem in a desired-state file, at the line and column of the offending YAML node. */
export type FileError = {
  /** The file as the user named it (the folder given plus the path inside it). */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** The field, as in the API: `spec.min_instances`, `spec.env.LOG_LEVEL`; empty for syntax. */
  readonly path: string;
  readonly message: string;
};

/** `apps/shop.yaml:7:18: spec.min_instances: must be ≤ max_instances (2)`. */
export function formatFileError(error: FileError): string {
  const field = error.path === "" ? "" : `${error.path}: `;
  return `${error.file}:${error.line}:${error.column}: ${field}${error.message}`;
}

/** By position within a file; files in the order given, then in the order they appear. */
export function sortFileErrors(
  errors: readonly FileError[],
  files: readonly string[] = [],
): FileError[] {
  const fileOrder = new Map<string, number>();
  for (const file of [...files, ...errors.map((error) => error.file)]) {
    if (!fileOrder.has(file)) fileOrder.set(file, fileOrder.size);
  }
  return [...errors].sort(
    (left, right) =>
      (fileOrder.get(left.file) ?? 0) - (fileOrder.get(right.file) ?? 0) ||
      left.line - right.line ||
      left.column - right.column,
  );
}

/** `spec`, `spec.env.LOG_LEVEL`, `spec.health_check.test[1]`. */
export function fieldPath(path: readonly (string | number)[]): string {
  return path
    .map((segment, index) =>
      typeof segment === "number" ? `[${segment}]` : `${index === 0 ? "" : "."}${segment}`,
    )
    .join("");
}
