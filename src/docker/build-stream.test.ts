import { describe, expect, it } from "vitest";
import {
  type BuildStreamEvent,
  createBuildKitStreamParser,
  createClassicStreamParser,
} from "./build-stream.ts";
import { statusResponse } from "./buildkit-trace.ts";

const logOf = (events: readonly BuildStreamEvent[]) =>
  events.map((event) => (event.kind === "log" ? event.text : "")).join("");
const stepsOf = (events: readonly BuildStreamEvent[]) =>
  events.flatMap((event) =>
    event.kind === "step" ? [`${event.index}/${event.total} ${event.instruction}`] : [],
  );

describe("the classic builder's stream", () => {
  it("follows the steps of a build that fails at a RUN, split across events as the engine sends them", () => {
    const parser = createClassicStreamParser();
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
    ].flatMap((event) => parser.parse(event));
    expect(logOf(events)).toContain("Step 2/3 : RUN echo building && false\n");
    expect(stepsOf(events).at(-1)).toBe("2/3 RUN echo building && false");
    expect(events.at(-1)).toEqual({
      kind: "error",
      message: "The command '/bin/sh -c echo building && false' returned a non-zero code: 1",
    });
    expect(events.some((event) => event.kind === "image")).toBe(false);
  });

  it("knows the built image id from aux or from the last line", () => {
    expect(createClassicStreamParser().parse({ aux: { ID: "sha256:abc" } })).toEqual([
      { kind: "image", id: "sha256:abc" },
    ]);
    expect(
      createClassicStreamParser()
        .parse({ stream: "Successfully built 0123456789ab\n" })
        .filter((event) => event.kind === "image"),
    ).toEqual([{ kind: "image", id: "0123456789ab" }]);
  });

  it("keeps bounded memory for output without line breaks", () => {
    const parser = createClassicStreamParser();
    const events = [
      ...parser.parse({ stream: "Step 2/2 : RUN yes | tr -d '\\n'\n" }),
      ...Array.from({ length: 100 }, () => parser.parse({ stream: "y".repeat(100_000) })).flat(),
      ...parser.parse({ stream: "\nSuccessfully built 0123456789ab\n" }),
    ];
    expect(stepsOf(events)).toEqual(["2/2 RUN yes | tr -d '\\n'"]);
    expect(events.filter((event) => event.kind === "image")).toEqual([
      { kind: "image", id: "0123456789ab" },
    ]);
  });

  it("sees the step while its line is still incomplete", () => {
    expect(
      stepsOf(createClassicStreamParser().parse({ stream: "Step 2/2 : RUN sleep 30" })),
    ).toEqual(["2/2 RUN sleep 30"]);
  });
});

/** A trace message as the engine sends it: a base64 protobuf StatusResponse. */
function trace(status: {
  vertexes?: Array<Record<string, unknown>>;
  logs?: Array<Record<string, unknown>>;
}): Record<string, unknown> {
  const type = statusResponse();
  const bytes = type.encode(type.fromObject(status)).finish();
  return { id: "moby.buildkit.trace", aux: Buffer.from(bytes).toString("base64") };
}

describe("BuildKit's stream", () => {
  it("writes steps, output, cached and failed steps like --progress=plain, and names the step", () => {
    const parser = createBuildKitStreamParser();
    const at = { seconds: 1 };
    const run = { digest: "sha256:b", name: "[stage-0 2/3] RUN echo hi && false" };
    const events = [
      trace({ vertexes: [{ digest: "sha256:a", name: "[internal] load build definition" }] }),
      trace({
        vertexes: [
          {
            digest: "sha256:a",
            name: "[internal] load build definition",
            started: at,
            completed: at,
          },
        ],
      }),
      trace({
        vertexes: [
          {
            digest: "sha256:c",
            name: "[stage-0 1/3] FROM base",
            started: at,
            completed: at,
            cached: true,
          },
        ],
      }),
      trace({ vertexes: [{ ...run, started: at }] }),
      trace({ logs: [{ vertex: "sha256:b", stream: 1, msg: Buffer.from("hi\n") }] }),
      trace({ vertexes: [{ ...run, started: at, completed: at, error: "exit code: 1" }] }),
      { errorDetail: { message: "executor failed running: exit code: 1" }, error: "x" },
    ].flatMap((event) => parser.parse(event));
    expect(logOf(events)).toBe(
      [
        "#1 [internal] load build definition",
        "#2 [stage-0 1/3] FROM base",
        "#2 CACHED",
        "#3 [stage-0 2/3] RUN echo hi && false",
        "hi",
        "#3 ERROR: exit code: 1",
        "",
      ].join("\n"),
    );
    expect(stepsOf(events)).toEqual(["1/3 FROM base", "2/3 RUN echo hi && false"]);
    expect(events.at(-1)).toEqual({
      kind: "error",
      message: "executor failed running: exit code: 1",
    });
  });

  it("takes the image id from moby.image.id", () => {
    expect(
      createBuildKitStreamParser().parse({ id: "moby.image.id", aux: { ID: "sha256:abc" } }),
    ).toEqual([{ kind: "image", id: "sha256:abc" }]);
  });
});
