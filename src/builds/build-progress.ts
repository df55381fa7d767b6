import type { BuildStreamEvent } from "../docker/build.ts";

function oneLine(text: string, max = 300): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Follows a build as it runs, whichever builder: the text each event adds to the log, the step
 * running now, the error the engine reported (a failing step does not end the stream with an
 * HTTP error, it arrives as an event), and the id of the image built. Pure.
 */
export function createBuildProgress() {
  let step: string | undefined;
  let error: string | undefined;
  let imageId: string | undefined;

  return {
    /** Records an event; returns the text it adds to the log. */
    add(event: BuildStreamEvent): string {
      switch (event.kind) {
        case "log":
          return event.text;
        case "step":
          step = oneLine(`step ${event.index}/${event.total} : ${event.instruction}`);
          return "";
        case "error":
          error ??= event.message;
          return `ERROR: ${event.message}\n`;
        case "image":
          imageId ??= event.id;
          return "";
      }
    },
    /** The last step seen, as "step n/m : INSTRUCTION". */
    get step(): string | undefined {
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

/** `push_failed`: built, but REGISTRY_URL did not take it (other engines could not run it). */
export type FailureReason = "step_failed" | "timeout" | "build_error" | "push_failed";

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
