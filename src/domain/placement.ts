import { z } from "zod";

/**
 * Where an image's instances may run: Swarm's placement. `constraints` are
 * `<attribute> ==|!= <value>` over the attributes Swarm knows (node.id, node.hostname,
 * node.role, node.platform.os, node.platform.arch, node.labels.<key>, engine.labels.<key>);
 * `spread` spreads the instances evenly over the values of one node or engine label. Values
 * come out canonical (`node.role == manager` → `node.role==manager`) so equal specs hash equal.
 */

export const fixedAttributes = [
  "node.id",
  "node.hostname",
  "node.role",
  "node.platform.os",
  "node.platform.arch",
] as const;

export const labelPrefixes = ["node.labels.", "engine.labels."] as const;

/** A label key as Swarm accepts it after the prefix (its constraint keys are `[a-z_][a-z0-9._-]+`). */
const labelKeyPattern = /^[A-Za-z0-9_][A-Za-z0-9._/-]{0,127}$/;
/** Values: Swarm also takes a few regex-looking characters, which it compares literally anyway. */
const valuePattern = /^[A-Za-z0-9_.:/@-]{1,255}$/;

export type Constraint = {
  readonly attribute: string;
  readonly operator: "==" | "!=";
  readonly value: string;
};

const attributeRule = `one of ${fixedAttributes.join(", ")}, node.labels.<key>, engine.labels.<key>`;

/** Whether an attribute is one Swarm matches (the label ones with a well-formed key). */
export function isKnownAttribute(attribute: string): boolean {
  if ((fixedAttributes as readonly string[]).includes(attribute)) return true;
  const prefix = labelPrefixes.find((candidate) => attribute.startsWith(candidate));
  return prefix !== undefined && labelKeyPattern.test(attribute.slice(prefix.length));
}

/** Reads `node.labels.zone == a`; says what is wrong otherwise. Pure. */
export function parseConstraint(
  text: string,
): { ok: true; value: Constraint } | { ok: false; message: string } {
  const match = /^\s*([^=!\s]+)\s*(==|!=)\s*(.*?)\s*$/.exec(text);
  if (match === null) {
    return { ok: false, message: "must be <attribute>==<value> or <attribute>!=<value>" };
  }
  const [, attribute = "", operator, value = ""] = match;
  if (!isKnownAttribute(attribute)) {
    return { ok: false, message: `${attribute} is not an attribute Swarm knows: ${attributeRule}` };
  }
  if (!valuePattern.test(value)) {
    return {
      ok: false,
      message: "the value must be 1-255 letters, digits, '_', '.', ':', '/', '@' or '-'",
    };
  }
  if (attribute === "node.role" && value !== "manager" && value !== "worker") {
    return { ok: false, message: 'node.role is "manager" or "worker"' };
  }
  return { ok: true, value: { attribute, operator: operator as "==" | "!=", value } };
}

export function formatConstraint(constraint: Constraint): string {
  return `${constraint.attribute}${constraint.operator}${constraint.value}`;
}

const constraintField = z.string({ error: "must be a string" }).transform((text, context) => {
  const parsed = parseConstraint(text);
  if (!parsed.ok) {
    context.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  }
  return formatConstraint(parsed.value);
});

const spreadField = z.string().refine(
  (text) => {
    const prefix = labelPrefixes.find((candidate) => text.startsWith(candidate));
    return prefix !== undefined && labelKeyPattern.test(text.slice(prefix.length));
  },
  { message: "must be node.labels.<key> or engine.labels.<key>" },
);

export const placementSchema = z.strictObject(
  {
    constraints: z
      .array(constraintField, { error: "must be a list of constraints like node.role==manager" })
      .max(32, { message: "at most 32 constraints" })
      .superRefine((constraints, context) => {
        const seen = new Set<string>();
        for (const [index, constraint] of constraints.entries()) {
          if (seen.has(constraint))
            context.addIssue({
              code: "custom",
              path: [index],
              message: `${constraint} is listed twice`,
            });
          seen.add(constraint);
        }
      })
      .default([]),
    spread: spreadField.nullable().default(null),
  },
  { error: "must be {constraints, spread}" },
);

export type Placement = z.output<typeof placementSchema>;

export const noPlacement: Placement = { constraints: [], spread: null };

/** Whether a placement asks for anything. */
export function hasPlacement(placement: Placement): boolean {
  return placement.constraints.length > 0 || placement.spread !== null;
}

/** What one engine (a node) is, for matching constraints against it. */
export type NodeFacts = {
  readonly id: string;
  readonly hostname: string;
  /** "manager", "worker", or "" for an engine in no swarm. */
  readonly role: string;
  readonly os: string;
  readonly arch: string;
  readonly nodeLabels: Readonly<Record<string, string>>;
  readonly engineLabels: Readonly<Record<string, string>>;
};

function attributeValue(attribute: string, facts: NodeFacts): string {
  switch (attribute) {
    case "node.id":
      return facts.id;
    case "node.hostname":
      return facts.hostname;
    case "node.role":
      return facts.role;
    case "node.platform.os":
      return facts.os;
    case "node.platform.arch":
      return facts.arch;
  }
  if (attribute.startsWith("node.labels.")) {
    return facts.nodeLabels[attribute.slice("node.labels.".length)] ?? "";
  }
  return facts.engineLabels[attribute.slice("engine.labels.".length)] ?? "";
}

/**
 * The constraints a node does not meet, as Swarm matches them: values compare without regard
 * to case, a label the node lacks is the empty value (so `!=` holds for it). Pure.
 */
export function unmetConstraints(constraints: readonly string[], facts: NodeFacts): string[] {
  return constraints.filter((text) => {
    const parsed = parseConstraint(text);
    if (!parsed.ok) return true;
    const { attribute, operator, value } = parsed.value;
    const equal = attributeValue(attribute, facts).toLowerCase() === value.toLowerCase();
    return operator === "==" ? !equal : equal;
  });
}
