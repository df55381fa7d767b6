/**
 * Pure checks on the names and link targets found in an archive. Paths here are relative to
 * the extraction root, "/"-separated, without "." or ".." segments; "" is the root itself.
 */

export type PathCheck = { ok: true; path: string } | { ok: false; problem: string };

/** How many symlinks a lookup may follow before it counts as a loop (Linux's MAXSYMLINKS). */
const maxSymlinkHops = 40;

/**
 * An entry name → a safe relative path, or what is wrong with it: absolute paths, Windows
 * drive letters and backslashes, NUL bytes, and ".." segments are all refused.
 */
export function checkEntryName(name: string): PathCheck {
  if (name.includes("\0")) return { ok: false, problem: "contains a NUL byte" };
  if (name.includes("\\")) return { ok: false, problem: "contains a backslash (a Windows path)" };
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) {
    return { ok: false, problem: "is an absolute path" };
  }
  const segments: string[] = [];
  let climbs = false;
  let depth = 0;
  for (const segment of name.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      climbs = true;
      depth -= 1;
      if (depth < 0) return { ok: false, problem: "escapes the context" };
      continue;
    }
    depth += 1;
    segments.push(segment);
  }
  if (climbs) return { ok: false, problem: "has a .. segment" };
  return { ok: true, path: segments.join("/") };
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

/** `path` itself or the nearest of its ancestors that is a known symlink, if any. */
export function symlinkOnPath(
  path: string,
  symlinks: ReadonlyMap<string, string>,
): string | undefined {
  if (symlinks.size === 0 || path === "") return undefined;
  let slash = path.indexOf("/");
  while (slash !== -1) {
    const ancestor = path.slice(0, slash);
    if (symlinks.has(ancestor)) return ancestor;
    slash = path.indexOf("/", slash + 1);
  }
  return symlinks.has(path) ? path : undefined;
}

export type LinkResolution =
  | { ok: true; path: string }
  | { ok: false; problem: "outside" | "loop" };

/**
 * Where the symlink at `linkPath` with content `target` ends up, following the other symlinks
 * the way the kernel would (lexically: the tree holds nothing but what the archive put there).
 * Absolute targets and any ".." above the root are outside.
 */
export function resolveSymlink(
  linkPath: string,
  target: string,
  symlinks: ReadonlyMap<string, string>,
): LinkResolution {
  if (target.startsWith("/")) return { ok: false, problem: "outside" };
  const resolved = parentOf(linkPath) === "" ? [] : parentOf(linkPath).split("/");
  const pending = target.split("/").reverse();
  let hops = 0;
  for (let segment = pending.pop(); segment !== undefined; segment = pending.pop()) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (resolved.length === 0) return { ok: false, problem: "outside" };
      resolved.pop();
      continue;
    }
    resolved.push(segment);
    const next = symlinks.get(resolved.join("/"));
    if (next === undefined) continue;
    hops += 1;
    if (hops > maxSymlinkHops) return { ok: false, problem: "loop" };
    if (next.startsWith("/")) return { ok: false, problem: "outside" };
    resolved.pop();
    for (const part of next.split("/").reverse()) pending.push(part);
  }
  return { ok: true, path: resolved.join("/") };
}

/** The symlinks below `prefix`, keyed relative to it (for a context that is a subfolder). */
export function symlinksBelow(
  symlinks: ReadonlyMap<string, string>,
  prefix: string,
): Map<string, string> {
  if (prefix === "") return new Map(symlinks);
  const below = new Map<string, string>();
  for (const [path, target] of symlinks) {
    if (path.startsWith(`${prefix}/`)) below.set(path.slice(prefix.length + 1), target);
  }
  return below;
}
