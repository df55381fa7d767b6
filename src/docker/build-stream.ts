import { decodeTrace } from "./buildkit-trace.ts";

/**
 * What a build says as it runs, the same for both builders: text for the log, the step that
 * started, the engine's error (a failing step does not fail the HTTP stream: it arrives as an
 * event), and the id of the image built.
 */
export type BuildStreamEvent =
  | { readonly kind: "log"; readonly text: string }
  | {
      readonly kind: "step";
      readonly index: number;
      readonly total: number;
      readonly instruction: string;
    }
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "image"; readonly id: string };

/** One JSON object of the engine's build stream, as it sends it. */
export type RawBuildEvent = Readonly<Record<string, unknown>>;

/** The longest partial line kept while waiting for its end: only a line's start matters. */
const maxLineChars = 4_096;

function engineError(event: RawBuildEvent): BuildStreamEvent | undefined {
  const detail = event.errorDetail as { message?: unknown } | undefined;
  if (typeof event.error !== "string" && detail === undefined) return undefined;
  const message =
    (typeof detail?.message === "string" ? detail.message : undefined) ??
    (typeof event.error === "string" ? event.error : "unknown build error");
  return { kind: "error", message };
}

/**
 * The classic builder's stream: text lines ("Step 2/3 : RUN …", output, "Successfully built
 * <id>") split across events anywhere, `aux.ID`, `status` lines of pulls, and errors.
 */
export function createClassicStreamParser() {
  let partial = "";
  const stepPattern = /^Step (\d+)\/(\d+) : (.*)$/;

  function linesOf(text: string): string[] {
    const lines = (partial + text).split("\n");
    partial = (lines.pop() ?? "").slice(0, maxLineChars);
    return lines;
  }

  function lineEvents(line: string): BuildStreamEvent[] {
    const trimmed = line.trim();
    const step = stepPattern.exec(trimmed);
    if (step !== null)
      return [
        {
          kind: "step",
          index: Number(step[1]),
          total: Number(step[2]),
          instruction: step[3] ?? "",
        },
      ];
    const built = /^Successfully built ([0-9a-f]{12,64})$/.exec(trimmed);
    return built?.[1] === undefined ? [] : [{ kind: "image", id: built[1] }];
  }

  return {
    parse(event: RawBuildEvent): BuildStreamEvent[] {
      const error = engineError(event);
      if (error !== undefined) return [error];
      const aux = event.aux as { ID?: unknown } | undefined;
      if (typeof aux?.ID === "string") return [{ kind: "image", id: aux.ID }];
      if (typeof event.stream === "string") {
        const events: BuildStreamEvent[] = [{ kind: "log", text: event.stream }];
        for (const line of linesOf(event.stream)) events.push(...lineEvents(line));
        // A step line still being written already names the step running now.
        if (stepPattern.test(partial.trim())) {
          events.push(...lineEvents(partial));
        }
        return events;
      }
      if (typeof event.status === "string") {
        const progress = typeof event.progress === "string" ? ` ${event.progress}` : "";
        return [{ kind: "log", text: `${event.status}${progress}\n` }];
      }
      return [];
    },
  };
}

/**
 * BuildKit's stream: `moby.buildkit.trace` events (protobuf status: steps, as vertexes, and
 * their output), `moby.image.id`, and errors. Written to the log like `--progress=plain`:
 * `#n [stage 2/3] RUN …`, the step's output, `#n CACHED`, `#n ERROR: …`.
 */
export function createBuildKitStreamParser() {
  const numbers = new Map<string, number>();
  const announced = new Set<string>();
  const finished = new Set<string>();
  const stepPattern = /^\[(?:[^\]\s]+ )?(\d+)\/(\d+)\] (.*)$/s;

  const numberOf = (digest: string) => {
    let number = numbers.get(digest);
    if (number === undefined) {
      number = numbers.size + 1;
      numbers.set(digest, number);
    }
    return number;
  };

  return {
    parse(event: RawBuildEvent): BuildStreamEvent[] {
      const error = engineError(event);
      if (error !== undefined) return [error];
      if (event.id === "moby.image.id") {
        const aux = event.aux as { ID?: unknown } | undefined;
        return typeof aux?.ID === "string" ? [{ kind: "image", id: aux.ID }] : [];
      }
      if (event.id !== "moby.buildkit.trace" || typeof event.aux !== "string") {
        return typeof event.stream === "string" ? [{ kind: "log", text: event.stream }] : [];
      }
      const trace = decodeTrace(event.aux);
      const events: BuildStreamEvent[] = [];
      for (const vertex of trace.vertexes) {
        const number = numberOf(vertex.digest);
        if (vertex.started && !announced.has(vertex.digest)) {
          announced.add(vertex.digest);
          events.push({ kind: "log", text: `#${number} ${vertex.name}\n` });
          const step = stepPattern.exec(vertex.name);
          if (step !== null) {
            events.push({
              kind: "step",
              index: Number(step[1]),
              total: Number(step[2]),
              instruction: step[3] ?? "",
            });
          }
        }
        if (vertex.completed && !finished.has(vertex.digest)) {
          finished.add(vertex.digest);
          if (vertex.error !== "") {
            events.push({ kind: "log", text: `#${number} ERROR: ${vertex.error}\n` });
          } else if (vertex.cached) {
            events.push({ kind: "log", text: `#${number} CACHED\n` });
          }
        }
      }
      for (const log of trace.logs) events.push({ kind: "log", text: log.text });
      return events;
    },
  };
}
