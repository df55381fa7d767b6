import { canonicalJson } from "../domain/spec-hash.ts";

/** What the server's apply (or its dry run) would do with one image of the set. */
export type PlanAction = "create" | "update" | "replace" | "delete" | "unchanged";

export type PlanChange = {
  readonly field: string;
  readonly from: unknown;
  readonly to: unknown;
};

export type PlanItem = {
  readonly name: string;
  readonly action: PlanAction;
  readonly changes?: readonly PlanChange[] | undefined;
  readonly reason?: string | undefined;
};

export type Plan = { readonly items: readonly PlanItem[] };

export type PlanCounts = {
  readonly create: number;
  /** Updates in place and replacements. */
  readonly change: number;
  readonly delete: number;
  readonly unchanged: number;
};

const symbols: Readonly<Record<PlanAction, string>> = {
  create: "+",
  update: "~",
  replace: "-/+",
  delete: "-",
  unchanged: " ",
};

/** `2`, `v1`, `null`, `"two words"`, `{"LOG_LEVEL":"info"}`: short, unambiguous values. */
export function formatPlanValue(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (typeof value === "string") {
    return /^[^\s"'(),;→]+$/.test(value) && value !== "null" ? value : JSON.stringify(value);
  }
  if (typeof value === "object") return canonicalJson(value);
  return String(value);
}

function formatChange(change: PlanChange): string {
  return `${change.field} ${formatPlanValue(change.from)} → ${formatPlanValue(change.to)}`;
}

/**
 * `+ shop (create)`, `~ api (desired_instances 2 → 4)`, `-/+ web (replace: image changed)`,
 * `- old (delete)`; undefined for an unchanged image.
 */
export function formatPlanItem(item: PlanItem): string | undefined {
  if (item.action === "unchanged") return undefined;
  const changes = (item.changes ?? []).map(formatChange).join(", ");
  const details = [item.reason ?? "", changes].filter((part) => part !== "").join("; ");
  const text =
    details === ""
      ? item.action
      : item.action === "update"
        ? details
        : `${item.action}: ${details}`;
  return `${symbols[item.action]} ${item.name} (${text})`;
}

export function countPlan(plan: Plan): PlanCounts {
  const count = (...actions: PlanAction[]) =>
    plan.items.filter((item) => actions.includes(item.action)).length;
  return {
    create: count("create"),
    change: count("update", "replace"),
    delete: count("delete"),
    unchanged: count("unchanged"),
  };
}

/** `2 to create, 1 to change, 0 to delete`, or `No changes.` */
export function formatPlanSummary(counts: PlanCounts): string {
  if (counts.create + counts.change + counts.delete === 0) return "No changes.";
  return `${counts.create} to create, ${counts.change} to change, ${counts.delete} to delete`;
}

/** The plan as printed by apply and diff: one line per image that changes, then the summary. */
export function formatPlan(plan: Plan): string[] {
  const lines = plan.items.flatMap((item) => formatPlanItem(item) ?? []);
  return [...lines, formatPlanSummary(countPlan(plan))];
}

/** `orchestrator diff`: 0 when nothing would change, 1 when something would (2 is for errors). */
export function diffExitCode(plan: Plan): 0 | 1 {
  const counts = countPlan(plan);
  return counts.create + counts.change + counts.delete === 0 ? 0 : 1;
}
