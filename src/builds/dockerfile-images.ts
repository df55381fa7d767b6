/**
 * What a Dockerfile asks of the engine before it builds anything: its parser directives and
 * the images it reads (`FROM`, `COPY --from=`, `RUN --mount=…,from=`), with ARGs substituted as
 * BuildKit does for the forms this handles. Stage names and indexes are not images. Pure.
 *
 * This is an early, friendly check: the guarantees do not rest on it (builds of other tenants
 * cannot be named, see domain/names.ts; the engine never resolves image ids under BuildKit).
 * Whatever it cannot read for sure is reported as `unreadable`, and refused.
 */

export type DockerfileImage = { readonly reference: string; readonly line: number };

export type DockerfileFacts = {
  /** Parser directives (`# syntax=…`, `# escape=…`), by lower-case name. */
  readonly directives: Readonly<Record<string, string>>;
  readonly images: readonly DockerfileImage[];
  /** References that still hold a variable after substitution, or an empty one. */
  readonly unreadable: readonly DockerfileImage[];
  /** Lines of RUN, COPY or ADD instructions that open a heredoc (`<<EOF`): Dockerfile 1.4. */
  readonly heredocs: readonly number[];
};

/** `<<EOF`, `<<-EOF`, `<<"EOF"` as a word of its own: a heredoc's opening. */
const heredocOpening = /(?:^|\s)<<-?(["']?)[A-Za-z_][A-Za-z0-9_]*\1(?=$|[\s|>&;])/;

type Instruction = { readonly keyword: string; readonly args: string; readonly line: number };

function readDirectives(lines: readonly string[]): Record<string, string> {
  const directives: Record<string, string> = {};
  for (const line of lines) {
    const match = /^\s*#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1] === undefined) break;
    directives[match[1].toLowerCase()] = match[2] ?? "";
  }
  return directives;
}

/** Logical instructions: comments dropped, continuation lines joined. */
function instructions(text: string, escapeCharacter: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const result: Instruction[] = [];
  let current = "";
  let start = 0;
  for (const [index, raw] of lines.entries()) {
    if (current === "" && /^\s*(#|$)/.test(raw)) continue;
    if (current !== "" && /^\s*#/.test(raw)) continue; // comments inside a continuation
    if (current === "") start = index + 1;
    const trimmedEnd = raw.replace(/\s+$/, "");
    if (trimmedEnd.endsWith(escapeCharacter)) {
      current += `${trimmedEnd.slice(0, -1)} `;
      continue;
    }
    current += raw;
    const match = /^\s*(\S+)\s*(.*)$/s.exec(current);
    if (match?.[1] !== undefined)
      result.push({ keyword: match[1].toUpperCase(), args: match[2] ?? "", line: start });
    current = "";
  }
  if (current.trim() !== "") {
    const match = /^\s*(\S+)\s*(.*)$/s.exec(current);
    if (match?.[1] !== undefined)
      result.push({ keyword: match[1].toUpperCase(), args: match[2] ?? "", line: start });
  }
  return result;
}

/** `$A`, `${A}`, `${A:-default}`, `${A:+alternative}`; unknown variables stay as they are. */
function substitute(word: string, values: ReadonlyMap<string, string>): string {
  return word.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (whole, braced?: string, operator?: string, operand?: string, bare?: string) => {
      const name = braced ?? bare ?? "";
      const value = values.get(name);
      if (operator === ":-") return value === undefined || value === "" ? (operand ?? "") : value;
      if (operator === ":+") return value === undefined || value === "" ? "" : (operand ?? "");
      return value ?? whole;
    },
  );
}

function unquote(word: string): string {
  return /^(["']).*\1$/.test(word) ? word.slice(1, -1) : word;
}

/** ARG NAME[=default] …, with the build's own value winning. */
function declareArgs(
  args: string,
  scope: Map<string, string>,
  buildArgs: Readonly<Record<string, string>>,
  inherited: ReadonlyMap<string, string>,
): void {
  for (const declaration of args.split(/\s+/).filter((word) => word !== "")) {
    const equals = declaration.indexOf("=");
    const name = equals < 0 ? declaration : declaration.slice(0, equals);
    const fallback =
      equals < 0 ? inherited.get(name) : substitute(unquote(declaration.slice(equals + 1)), scope);
    const value = Object.hasOwn(buildArgs, name) ? buildArgs[name] : fallback;
    if (value !== undefined) scope.set(name, value);
  }
}

export function readDockerfile(
  text: string,
  buildArgs: Readonly<Record<string, string>> = {},
): DockerfileFacts {
  const lines = text.split(/\r?\n/);
  const directives = readDirectives(lines);
  const escapeCharacter = directives.escape === "`" ? "`" : "\\";
  const globalArgs = new Map<string, string>();
  let stageArgs: Map<string, string> | undefined;
  const stageNames = new Set<string>();
  let stageCount = 0;
  const images: DockerfileImage[] = [];
  const unreadable: DockerfileImage[] = [];
  const heredocs: number[] = [];

  const note = (raw: string, line: number, scope: ReadonlyMap<string, string>) => {
    const reference = unquote(substitute(raw.trim(), scope));
    if (stageNames.has(reference.toLowerCase())) return;
    if (/^\d+$/.test(reference) && Number(reference) < stageCount) return; // a stage index
    if (reference === "scratch") return;
    if (reference === "" || reference.includes("$")) unreadable.push({ reference, line });
    else images.push({ reference, line });
  };

  for (const instruction of instructions(text, escapeCharacter)) {
    const scope = stageArgs ?? globalArgs;
    switch (instruction.keyword) {
      case "ARG":
        declareArgs(instruction.args, scope, buildArgs, globalArgs);
        break;
      case "FROM": {
        const words = instruction.args
          .split(/\s+/)
          .filter((word) => word !== "" && !word.startsWith("--"));
        if (words[0] !== undefined) note(words[0], instruction.line, globalArgs);
        if (words[1]?.toUpperCase() === "AS" && words[2] !== undefined)
          stageNames.add(words[2].toLowerCase());
        stageCount += 1;
        stageArgs = new Map();
        break;
      }
      case "COPY":
      case "ADD":
      case "RUN":
        if (heredocOpening.test(instruction.args)) heredocs.push(instruction.line);
        for (const flag of instruction.args.matchAll(/--(from|mount)=(\S+)/g)) {
          if (flag[1] === "from") note(flag[2] ?? "", instruction.line, scope);
          else {
            const from = /(?:^|,)from=([^,]+)/.exec(flag[2] ?? "");
            if (from?.[1] !== undefined) note(from[1], instruction.line, scope);
          }
        }
        break;
      case "ONBUILD":
        // Runs in builds that use this image as a base, not in this one.
        break;
    }
  }
  return { directives, images, unreadable, heredocs };
}
