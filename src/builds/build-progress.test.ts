import { describe, expect, it } from "vitest";
import { createBuildProgress, describeFailure } from "./build-progress.ts";

describe("createBuildProgress", () => {
  it("keeps the log, the last step, the first error and the image id", () => {
    const progress = createBuildProgress();
    const log = [
      progress.add({ kind: "log", text: "#1 [1/2] FROM base\n" }),
      progress.add({ kind: "step", index: 1, total: 2, instruction: "FROM base" }),
      progress.add({ kind: "step", index: 2, total: 2, instruction: "RUN  false\n  && true" }),
      progress.add({ kind: "error", message: "exit code: 1" }),
      progress.add({ kind: "error", message: "a later error" }),
    ].join("");
    expect(log).toBe("#1 [1/2] FROM base\nERROR: exit code: 1\nERROR: a later error\n");
    expect(progress.step).toBe("step 2/2 : RUN false && true");
    expect(progress.error).toBe("exit code: 1");
    expect(progress.imageId).toBeUndefined();
    progress.add({ kind: "image", id: "sha256:abc" });
    expect(progress.imageId).toBe("sha256:abc");
  });
});

describe("describeFailure", () => {
  it("names the failing step in one line", () => {
    expect(
      describeFailure(
        { kind: "error", message: "The command '/bin/sh -c false'\nreturned a non-zero code: 1" },
        "step 2/3 : RUN false",
      ),
    ).toEqual({
      reason: "step_failed",
      message:
        "step 2/3 : RUN false failed: The command '/bin/sh -c false' returned a non-zero code: 1",
    });
  });

  it("says a timeout is one, and where it struck", () => {
    expect(describeFailure({ kind: "timeout", seconds: 3 }, "step 2/2 : RUN sleep 30")).toEqual({
      reason: "timeout",
      message: "build timed out after 3 s during step 2/2 : RUN sleep 30",
    });
  });

  it("is a build error when no step ran (a bad Dockerfile)", () => {
    expect(
      describeFailure(
        { kind: "error", message: "dockerfile parse error line 1: unknown instruction: FORM" },
        undefined,
      ),
    ).toEqual({
      reason: "build_error",
      message: "dockerfile parse error line 1: unknown instruction: FORM",
    });
  });
});
