/** One JSON object of the engine's build stream. */
export type BuildEvent = {
  readonly stream?: string;
  readonly status?: string;
  readonly progress?: string;
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string; readonly code?: number };
  readonly aux?: { readonly ID?: string };
};

const stepPattern = /^Step (\d+)\/(\d+) : (.*)$/;
/** The longest line looked at; the step and image lines are far shorter. */
const maxLineChars = 4_096;

function oneLine(text: string, max = 300): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Follows a build's event stream: the text each event adds to the log, the step running now,
 * the error the engine reported (a failing RUN does not end the stream with an HTTP error, it
 * arrives as an event with `error`), and the id of the image built. Pure.
 */
export function createBuildProgress() {
  let partialLine = "";
  let step: string | undefined;
  let error: string | undefined;
  let imageId: string | undefined;

  function noteLines(text: string): void {
    const lines = (partialLine + text).split("\n");
    // Output without line breaks must not grow without bound: only a line's start matters.
    partialLine = (lines.pop() ?? "").slice(0, maxLineChars);
    for (const line of lines) noteLine(line);
  }

  function noteLine(line: string): void {
    const match = stepPattern.exec(line.trim());
    if (match !== null) step = oneLine(`step ${match[1]}/${match[2]} : ${match[3]}`);
    const built = /^Successfully built ([0-9a-f]{12,64})$/.exec(line.trim());
    if (built?.[1] !== undefined && imageId === undefined) imageId = built[1];
  }

  return {
    /** Records an event; returns the text it adds to the log. */
    add(event: BuildEvent): string {
      if (typeof event.error === "string" || event.errorDetail !== undefined) {
        const message = event.errorDetail?.message ?? event.error ?? "unknown build error";
        error ??= message;
        return `ERROR: ${message}\n`;
      }
      if (event.aux?.ID !== undefined) imageId = event.aux.ID;
      if (typeof event.stream === "string") {
        noteLines(event.stream);
        return event.stream;
      }
      if (typeof event.status === "string") {
        return `${event.status}${event.progress === undefined ? "" : ` ${event.progress}`}\n`;
      }
      return "";
    },
    /** The last "Step n/m : INSTRUCTION" seen, as "step n/m : INSTRUCTION". */
    get step(): string | undefined {
      if (partialLine !== "") {
        const match = stepPattern.exec(partialLine.trim());
        if (match !== null) return oneLine(`step ${match[1]}/${match[2]} : ${match[3]}`);
      }
      return step;
    },
    get error(): string | undefined {
      return error;
    },
    get imageId(): string | undefined {
      return imageId;
    },
  };
}

export type BuildProgress = ReturnType<typeof createBuildProgress>;

export type FailureReason = "step_failed" | "timeout" | "build_error";

export type BuildFailure = { readonly reason: FailureReason; readonly message: string };

/** Why a build failed, in one line naming the step: what the image's condition says. Pure. */
export function describeFailure(
  cause:
    | { readonly kind: "error"; readonly message: string }
    | { readonly kind: "timeout"; readonly seconds: number },
  step: string | undefined,
): BuildFailure {
  if (cause.kind === "timeout") {
    return {
      reason: "timeout",
      message: oneLine(
        `build timed out after ${cause.seconds} s${step === undefined ? "" : ` during ${step}`}`,
      ),
    };
  }
  const message = oneLine(cause.message);
  return step === undefined
    ? { reason: "build_error", message }
    : { reason: "step_failed", message: oneLine(`${step} failed: ${message}`) };
}
