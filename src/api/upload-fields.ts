import { imageName, specFieldNames, specFields } from "../domain/image-spec.ts";
import { findNul, nulMessage } from "../domain/nul.ts";
import type { FieldError } from "./problem.ts";
import { zodFieldErrors } from "./validation.ts";

/** The form fields an upload takes: the same names as the JSON body, and `file`. */
export const formFieldNames = ["name", ...specFieldNames] as const;

type FormFieldName = (typeof formFieldNames)[number];

export type FormFields = ReadonlyMap<string, readonly string[]>;

function isFormField(name: string): name is FormFieldName {
  return (formFieldNames as readonly string[]).includes(name);
}

/**
 * How each form field's text becomes the JSON body's value. Every field of the spec is listed
 * (the type requires it), so a new field cannot be forgotten by the upload form:
 * - `json`: lists, objects or booleans, sent as JSON text (`["npm","start"]`, `true`); an empty
 *   value or `null` is null;
 * - `nullable-text`: text where an empty value means "none" (null);
 * - `text`: text as sent (numbers too: the schema accepts their text);
 * - `env`: a JSON object or KEY=VALUE entries (see parseEnv).
 */
const formFieldKinds: Readonly<Record<FormFieldName, "json" | "nullable-text" | "text" | "env">> = {
  name: "text",
  tag: "text",
  image: "text",
  app_hostname: "nullable-text",
  container_port: "text",
  min_instances: "text",
  max_instances: "text",
  desired_instances: "text",
  cpu_limit: "text",
  memory_limit: "text",
  env: "env",
  health_check: "json",
  command: "json",
  entrypoint: "json",
  working_dir: "nullable-text",
  user: "nullable-text",
  hostname: "nullable-text",
  labels: "json",
  stop_grace_period: "nullable-text",
  stop_signal: "nullable-text",
  read_only_root_filesystem: "json",
  tmpfs: "json",
  volumes: "json",
  init: "json",
  ports: "json",
  restart_policy: "json",
  pull_policy: "text",
  privileged: "json",
  cap_add: "json",
  devices: "json",
  secrets: "json",
  networks: "json",
  depends_on: "json",
  build: "json",
  pool: "json",
  placement: "json",
  autoscale: "json",
  rollout: "json",
};

/**
 * `env` as a JSON object (`{"LOG_LEVEL":"info"}`), or as `KEY=VALUE` entries: one per field
 * sent, or one per line.
 */
function parseEnv(values: readonly string[]): { value?: unknown; error?: string } {
  const only = values[0]?.trim() ?? "";
  if (values.length === 1 && only.startsWith("{")) {
    try {
      return { value: JSON.parse(only) };
    } catch (error) {
      return { error: `is not valid JSON: ${(error as Error).message}` };
    }
  }
  const env: Record<string, string> = {};
  for (const line of values.flatMap((value) => value.split(/\r?\n/))) {
    if (line.trim() === "") continue;
    const equals = line.indexOf("=");
    if (equals <= 0) {
      return { error: "must be a JSON object or KEY=VALUE entries (one per field or line)" };
    }
    env[line.slice(0, equals).trim()] = line.slice(equals + 1);
  }
  return { value: env };
}

/**
 * The fields of a multipart upload as the JSON body would carry them (strings for numbers,
 * which the schema accepts), with what cannot be read: unknown or repeated fields, bad JSON.
 * Pure; the spec schema validates the values.
 */
export function specInputOfForm(fields: FormFields): {
  readonly input: Record<string, unknown>;
  readonly errors: FieldError[];
} {
  const input: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [name, values] of fields) {
    if (findNul([name, ...values]).length > 0) {
      errors.push({ path: name, message: nulMessage });
      continue;
    }
    if (!isFormField(name)) {
      errors.push({ path: name, message: "unknown field" });
      continue;
    }
    if (formFieldKinds[name] === "env") {
      const env = parseEnv(values);
      if (env.error !== undefined) errors.push({ path: "env", message: env.error });
      else if (findNul(env.value).length > 0) errors.push({ path: "env", message: nulMessage });
      else input.env = env.value;
      continue;
    }
    if (values.length > 1) {
      errors.push({ path: name, message: "given more than once" });
      continue;
    }
    const value = values[0] ?? "";
    if (formFieldKinds[name] === "json") {
      try {
        const parsed = value.trim() === "" || value.trim() === "null" ? null : JSON.parse(value);
        if (findNul(parsed).length > 0) errors.push({ path: name, message: nulMessage });
        else input[name] = parsed;
      } catch (error) {
        errors.push({ path: name, message: `is not valid JSON: ${(error as Error).message}` });
      }
      continue;
    }
    if (formFieldKinds[name] === "nullable-text" && value.trim() === "") {
      input[name] = null;
      continue;
    }
    input[name] = value;
  }
  return { input, errors };
}

/**
 * What is wrong with the fields sent so far, each on its own: checked before the file's bytes
 * are read, so a bad field fails fast. Fields still missing are not an error here. Pure.
 */
export function presentFieldErrors(fields: FormFields): FieldError[] {
  const { input, errors } = specInputOfForm(fields);
  for (const [name, value] of Object.entries(input)) {
    const schema = name === "name" ? imageName : specFields[name as Exclude<FormFieldName, "name">];
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      errors.push(
        ...zodFieldErrors(parsed.error).map((error) => ({
          path:
            error.path === ""
              ? name
              : error.path.startsWith("[")
                ? `${name}${error.path}`
                : `${name}.${error.path}`,
          message: error.message,
        })),
      );
    }
  }
  return errors;
}
