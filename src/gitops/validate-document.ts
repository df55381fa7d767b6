import type { Document, LineCounter } from "yaml";
import { z } from "zod";
import { imageName, type NewImage, newImageSchema, specFields } from "../domain/image-spec.ts";
import { findNul, nulMessage } from "../domain/nul.ts";
import { fieldPath } from "./file-error.ts";
import { type Position, type PositionTarget, positionOf } from "./yaml-position.ts";

export const documentApiVersion = "orchestrator/v1";
export const documentKind = "Image";

/** The canonical spec of one document, as the API's create schema outputs it (no name). */
export type DocumentSpec = Omit<NewImage, "name">;

export type ValidDocument = {
  readonly name: string;
  readonly spec: DocumentSpec;
  /** `spec.source` as written: a folder relative to the file. */
  readonly source?: string;
  readonly namePosition: Position;
  readonly sourcePosition?: Position;
  /** Where each entry of `spec.depends_on` is, for errors about the set as a whole. */
  readonly dependsOnPositions: readonly Position[];
  /** Whether `spec.desired_instances` is written (an autoscaled image leaves it to the autoscaler). */
  readonly desiredInstancesWritten: boolean;
};

export type DocumentIssue = Position & { readonly path: string; readonly message: string };

/**
 * `document` is undefined when there are issues, and for an empty document (no issues).
 * `name` is there whenever `metadata.name` itself is valid, to find duplicates among all.
 */
export type DocumentResult = {
  readonly document: ValidDocument | undefined;
  readonly name: { readonly value: string; readonly position: Position } | undefined;
  readonly issues: readonly DocumentIssue[];
};

type Segment = string | number;
type Problem = { path: readonly Segment[]; message: string; target: PositionTarget };

const envelopeFields = ["apiVersion", "kind", "metadata", "spec"];
const sourceField = z.string().min(1, { message: "must be a folder path" });
const countFields = ["min_instances", "max_instances", "desired_instances"];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function segments(path: readonly PropertyKey[]): Segment[] {
  return path.map((segment) => (typeof segment === "number" ? segment : String(segment)));
}

/** Zod issues as problems: an unknown or badly named key points at the key itself. */
function zodProblems(issues: z.ZodError["issues"], prefix: readonly Segment[]): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const path = [...prefix, ...segments(issue.path)];
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: "unknown field",
        target: "key",
      }));
    }
    if (issue.code === "invalid_key") {
      return [{ path, message: issue.issues[0]?.message ?? issue.message, target: "key" }];
    }
    return [{ path, message: issue.message, target: "value" }];
  });
}

function unknownFields(value: Record<string, unknown>, known: readonly string[], at: Segment[]) {
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key): Problem => ({ path: [...at, key], message: "unknown field", target: "key" }));
}

function requireMapping(
  parent: Record<string, unknown>,
  field: string,
  problems: Problem[],
): Record<string, unknown> | undefined {
  const value = parent[field];
  if (value === undefined) {
    problems.push({ path: [field], message: "required", target: "value" });
  } else if (!isRecord(value)) {
    problems.push({ path: [field], message: "must be a mapping", target: "value" });
  } else {
    return value;
  }
  return undefined;
}

function checkConstant(root: Record<string, unknown>, field: string, expected: string): Problem[] {
  if (root[field] === undefined) return [{ path: [field], message: "required", target: "value" }];
  if (root[field] !== expected) {
    return [{ path: [field], message: `must be "${expected}"`, target: "value" }];
  }
  return [];
}

const createSchemas = new Map<number, ReturnType<typeof newImageSchema>>();

/** Built once per cap: a set of 500 documents should not build 500 schemas. */
function createSchema(maxInstancesCap: number): ReturnType<typeof newImageSchema> {
  let schema = createSchemas.get(maxInstancesCap);
  if (schema === undefined) {
    schema = newImageSchema(maxInstancesCap);
    createSchemas.set(maxInstancesCap, schema);
  }
  return schema;
}

/**
 * Every spec field is checked on its own, so that one bad field does not hide another; the
 * checks between fields (instance bounds) and the defaults then come from the API's create
 * schema, once the counts themselves are valid.
 */
function checkSpec(
  spec: Record<string, unknown>,
  name: string | undefined,
  maxInstancesCap: number,
): { problems: Problem[]; canonical: NewImage | undefined } {
  const problems: Problem[] = [];
  const validFields: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(spec)) {
    if (field === "source") {
      const parsed = sourceField.safeParse(value);
      if (!parsed.success) problems.push(...zodProblems(parsed.error.issues, ["spec", field]));
    } else if (Object.hasOwn(specFields, field)) {
      const parsed = specFields[field as keyof typeof specFields].safeParse(value);
      if (parsed.success) validFields[field] = value;
      else problems.push(...zodProblems(parsed.error.issues, ["spec", field]));
    } else {
      problems.push({ path: ["spec", field], message: "unknown field", target: "key" });
    }
  }
  if (spec.source === undefined && spec.image === undefined) {
    problems.push({
      path: ["spec"],
      message: "set exactly one of source or image",
      target: "value",
    });
  }
  if (spec.source !== undefined && spec.image !== undefined) {
    problems.push({
      path: ["spec", "image"],
      message: "cannot be set together with source (set exactly one of source or image)",
      target: "key",
    });
  }
  const countsValid = countFields.every(
    (field) => !Object.hasOwn(spec, field) || Object.hasOwn(validFields, field),
  );
  if (!countsValid) return { problems, canonical: undefined };
  const parsed = createSchema(maxInstancesCap).safeParse({
    ...validFields,
    ...(name === undefined ? {} : { name }),
  });
  if (parsed.success) return { problems, canonical: parsed.data };
  const specIssues = parsed.error.issues.filter((issue) => issue.path[0] !== "name");
  // A field left to its default (desired_instances) fails only along with one that was written.
  const written = specIssues.filter((issue) => Object.hasOwn(spec, String(issue.path[0])));
  problems.push(...zodProblems(written.length > 0 ? written : specIssues, ["spec"]));
  return { problems, canonical: undefined };
}

/** Validates one parsed YAML document of a desired-state file. Pure. */
export function validateDocument(
  document: Document,
  lineCounter: LineCounter,
  maxInstancesCap: number,
): DocumentResult {
  const at = (path: readonly Segment[], target: PositionTarget) =>
    positionOf(document, lineCounter, path, target);
  const issuesOf = (problems: readonly Problem[]): DocumentIssue[] =>
    problems.map((problem) => ({
      ...at(problem.path, problem.target),
      path: fieldPath(problem.path),
      message: problem.message,
    }));

  let root: unknown;
  try {
    root = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return {
      document: undefined,
      name: undefined,
      issues: issuesOf([{ path: [], message: (error as Error).message, target: "value" }]),
    };
  }
  if (root === null || root === undefined)
    return { document: undefined, name: undefined, issues: [] };
  if (!isRecord(root)) {
    const message = "must be a mapping with apiVersion, kind, metadata and spec";
    return {
      document: undefined,
      name: undefined,
      issues: issuesOf([{ path: [], message, target: "value" }]),
    };
  }

  const nul = findNul(root);
  if (nul.length > 0) {
    // Postgres stores no NUL: such a document could never be applied, whatever else it says.
    return {
      document: undefined,
      name: undefined,
      issues: issuesOf(
        nul.map((finding) => ({
          path: [...finding.path],
          message: finding.inKey ? `the name ${nulMessage}` : nulMessage,
          target: finding.inKey ? "key" : "value",
        })),
      ),
    };
  }
  const problems: Problem[] = [
    ...unknownFields(root, envelopeFields, []),
    ...checkConstant(root, "apiVersion", documentApiVersion),
    ...checkConstant(root, "kind", documentKind),
  ];
  let name: string | undefined;
  const metadata = requireMapping(root, "metadata", problems);
  if (metadata !== undefined) {
    problems.push(...unknownFields(metadata, ["name"], ["metadata"]));
    if (metadata.name === undefined) {
      problems.push({ path: ["metadata", "name"], message: "required", target: "value" });
    } else {
      const parsed = imageName.safeParse(metadata.name);
      if (parsed.success) name = parsed.data;
      else problems.push(...zodProblems(parsed.error.issues, ["metadata", "name"]));
    }
  }
  const spec = requireMapping(root, "spec", problems);
  const checked = spec === undefined ? undefined : checkSpec(spec, name, maxInstancesCap);
  problems.push(...(checked?.problems ?? []));

  const namePosition = at(["metadata", "name"], "value");
  const validName = name === undefined ? undefined : { value: name, position: namePosition };
  if (problems.length > 0 || name === undefined || checked?.canonical === undefined) {
    return { document: undefined, name: validName, issues: issuesOf(problems) };
  }
  const { name: _name, ...canonical } = checked.canonical;
  const source = typeof spec?.source === "string" ? spec.source : undefined;
  return {
    name: validName,
    document: {
      name,
      spec: canonical,
      namePosition,
      ...(source === undefined ? {} : { source, sourcePosition: at(["spec", "source"], "value") }),
      dependsOnPositions: canonical.depends_on.map((_, index) =>
        at(["spec", "depends_on", index], "value"),
      ),
      desiredInstancesWritten: spec !== undefined && Object.hasOwn(spec, "desired_instances"),
    },
    issues: [],
  };
}
