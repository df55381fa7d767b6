/** An image spec as far as ordering goes: its name and what it depends on. */
export type Dependent = {
  readonly name: string;
  /** Names, or `{name, condition}` (as the spec takes them). */
  readonly depends_on?: readonly unknown[] | undefined;
};

function dependencyName(dependency: unknown): string | undefined {
  if (typeof dependency === "string") return dependency;
  const name = (dependency as { name?: unknown } | null)?.name;
  return typeof name === "string" ? name : undefined;
}

/**
 * The specs in dependency order (each after what it depends on, otherwise in the given order);
 * dependencies outside the set are taken as there already. A cycle is an error naming it.
 */
export function dependencyOrder<Spec extends Dependent>(specs: readonly Spec[]): Spec[] {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const ordered: Spec[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (spec: Spec, path: readonly string[]) => {
    const seen = state.get(spec.name);
    if (seen === "done") return;
    if (seen === "visiting") {
      throw new Error(`dependency cycle: ${[...path, spec.name].join(" → ")}`);
    }
    state.set(spec.name, "visiting");
    for (const dependency of spec.depends_on ?? []) {
      const name = dependencyName(dependency);
      const needed = name === undefined ? undefined : byName.get(name);
      if (needed !== undefined) visit(needed, [...path, spec.name]);
    }
    state.set(spec.name, "done");
    ordered.push(spec);
  };
  for (const spec of specs) visit(spec, []);
  return ordered;
}
