import { describe, expect, it } from "vitest";
import { createBuildProgress, describeFailure } from "./build-progress.ts";

describe("createBuildProgress", () => {
  it("follows the steps of a build that fails at a RUN, split across events as the engine sends them", () => {
    const progress = createBuildProgress();
    const events = [
      { stream: "Step 1/3 : FROM orchestrator-test/busybox:latest" },
      { stream: "\n" },
      { stream: " ---> 9e4a51fba62f\n" },
      { stream: "Step 2/3 : RUN echo building && false" },
      { stream: "\n" },
      { stream: " ---> Running in fd4b19e66778\n" },
      { stream: "building\n" },
      {
        errorDetail: {
          code: 1,
          message: "The command '/bin/sh -c echo building && false' returned a non-zero code: 1",
        },
        error: "The command '/bin/sh -c echo building && false' returned a non-zero code: 1",
      },
    ];
    const log = events.map((event) => progress.add(event)).join("");
    expect(log).toContain("Step 2/3 : RUN echo building && false\n");
    expect(
      log.endsWith(
        "ERROR: The command '/bin/sh -c echo building && false' returned a non-zero code: 1\n",
      ),
    ).toBe(true);
    expect(progress.step).toBe("step 2/3 : RUN echo building && false");
    expect(progress.error).toMatch(/returned a non-zero code: 1$/);
    expect(progress.imageId).toBeUndefined();
  });

  it("knows the built image id from aux or from the last line", () => {
    const withAux = createBuildProgress();
    withAux.add({ aux: { ID: "sha256:abc" } });
    withAux.add({ stream: "Successfully built 0123456789ab\n" });
    expect(withAux.imageId).toBe("sha256:abc");
    const withLine = createBuildProgress();
    withLine.add({ stream: "Successfully built 0123456789ab\n" });
    expect(withLine.imageId).toBe("0123456789ab");
  });

  it("keeps bounded memory for output without line breaks", () => {
    const progress = createBuildProgress();
    progress.add({ stream: "Step 2/2 : RUN yes | tr -d '\\n'\n" });
    for (let index = 0; index < 100; index += 1) progress.add({ stream: "y".repeat(100_000) });
    progress.add({ stream: "\nSuccessfully built 0123456789ab\n" });
    expect(progress.step).toBe("step 2/2 : RUN yes | tr -d '\\n'");
    expect(progress.imageId).toBe("0123456789ab");
  });

  it("sees the step while its line is still incomplete", () => {
    const progress = createBuildProgress();
    progress.add({ stream: "Step 2/2 : RUN sleep 30" });
    expect(progress.step).toBe("step 2/2 : RUN sleep 30");
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
