import { createHash } from "node:crypto";
import type { ContainerOptions, RestartPolicy } from "./container-options.ts";
import type { Placement } from "./placement.ts";
import type { EnvValue } from "./secret-references.ts";

/** Everything that, when changed, requires a container to be replaced. */
export type ContainerSpec = {
  /** The reference containers are created from (a built tag or the user's reference). */
  readonly image: string;
  /** The Docker image id that reference resolved to: a rebuild under the same tag is drift too. */
  readonly imageId: string;
  /** As the spec holds it: a secret is its reference here, never its value. */
  readonly env: Readonly<Record<string, EnvValue>>;
  readonly containerPort: number;
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  /** Docker HEALTHCHECK test, when the image asks for one. */
  readonly healthcheck?: readonly string[] | undefined;
  /** The container options that differ from their defaults (see containerOptionsForHash). */
  readonly options?: Partial<ContainerOptions> | undefined;
  /** The secrets it names: name → "row id:version" (a new value rolls; the value is never here). */
  readonly secrets?: Readonly<Record<string, string>> | undefined;
  /** RUNTIME=swarm only, when the image sets one: a new placement updates the service. */
  readonly placement?: Placement | undefined;
  /** RUNTIME=swarm only, when not the default: Swarm restarts tasks, so a new policy is an update. */
  readonly restartPolicy?: RestartPolicy | undefined;
};

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined)
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Whether two JSON values have the same canonicalJson, without building it: objects compared
 * key by key whatever their order (keys holding undefined left out, as JSON leaves them out),
 * arrays item by item, anything else as JSON.stringify writes it. For JSON values only (what
 * JSON.parse gives): like canonicalJson, it finds any two Dates equal.
 */
export function sameCanonicalJson(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (Array.isArray(left) || Array.isArray(right)) {
    return (
      Array.isArray(left) &&
      Array.isArray(right) &&
      left.length === right.length &&
      left.every((item, index) => sameCanonicalJson(item, right[index]))
    );
  }
  if (isObject(left) && isObject(right)) {
    const keys = definedKeys(left);
    return (
      keys.length === definedKeys(right).length &&
      keys.every((key) => Object.hasOwn(right, key) && sameCanonicalJson(left[key], right[key]))
    );
  }
  return JSON.stringify(left) === JSON.stringify(right);
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === "object";
}

function definedKeys(value: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(value).filter((key) => value[key] !== undefined);
}

/** A stable 16-hex-digit hash of the canonical spec, stored as the `orchestrator.spec-hash` label. */
export function specHash(spec: ContainerSpec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex").slice(0, 16);
}
