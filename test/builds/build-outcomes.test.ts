import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maxStoredLogChars } from "../../src/builds/log-keeper.ts";
import { hostProcessesRunning } from "../support/docker-helpers.ts";
import { hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import type { TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import {
  archiveOf,
  eventsOf,
  getImage,
  instancesOf,
  readSse,
  startBuildServer,
  uploadImage,
  waitForStatus,
  webApp,
} from "./build-support.ts";

// Longer than anything the other tests build here, and than another image takes to converge
// while the slow build runs, on a busy machine: at 6 s, a CI run saw the slow build time out
// before the other image was running, and the check that builds never hold others up failed.
const timeoutSeconds = 45;
/** The slow build's step: far longer than the timeout, so only the timeout can end it. */
const slowStepSeconds = 600;

describe.runIf(hasDocker())("build outcomes and logs", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startBuildServer({
      env: { BUILD_TIMEOUT_SECONDS: String(timeoutSeconds), BUILD_CONCURRENCY: "1" },
    });
  });
  afterAll(() => server?.stop());

  const condition = (image: any, type: string) =>
    image.conditions.find((entry: any) => entry.type === type);

  it("a RUN that fails gives build_failed, the failing step in the condition and the error at the end of the kept log", async () => {
    // Lots of output first: the database keeps the head and the tail, and the error survives.
    // (BuildKit numbers the steps that make layers: FROM, COPY and RUN.)
    const noisy =
      'RUN i=0; while [ $i -lt 2000 ]; do echo "noise line $i of the build"; i=$((i+1)); done; echo about to fail; exit 3\n';
    const uploaded = await uploadImage(
      server,
      { name: "failing", desired_instances: "1" },
      await archiveOf("tar.gz", webApp("never served\n", noisy)),
    );
    expect(uploaded.status).toBe(202);
    const imageId = uploaded.body.id;

    const failed = await waitForStatus(server, imageId, "build_failed");
    const step =
      'step 3/3 : RUN i=0; while [ $i -lt 2000 ]; do echo "noise line $i of the build"; i=$((i+1)); done; echo about to fail; exit 3';
    const degraded = await waitFor(
      async () => condition(await getImage(server, imageId), "Degraded"),
      (value) => value?.status === "True",
      { what: "Degraded condition" },
    );
    expect(degraded.reason).toBe("BuildFailed");
    expect(degraded.message).toContain(`${step} failed:`);
    expect(degraded.message).toMatch(/exit code: 3$/);
    expect(degraded.message).not.toContain("\n");

    expect(failed.build_logs.length).toBeLessThanOrEqual(maxStoredLogChars);
    expect(failed.build_logs).toMatch(/#\d+ \[1\/3\] FROM /);
    expect(failed.build_logs).toMatch(/characters omitted/);
    expect(failed.build_logs).toMatch(/about to fail\n/);
    expect(failed.build_logs.trimEnd()).toMatch(/ERROR: executor failed running .*: exit code: 3$/);

    const logs = await server.request("GET", `/api/images/${imageId}/build-logs`);
    expect(logs.body).toMatchObject({
      status: "build_failed",
      failure_reason: "step_failed",
      error: degraded.message,
      truncated: false,
    });
    // The file keeps everything.
    expect(logs.body.logs).toContain("noise line 0 of the build\n");
    expect(logs.body.logs).toContain("noise line 1000 of the build\n");
    expect(logs.body.logs).toContain("noise line 1999 of the build\n");

    const events = await eventsOf(server, imageId);
    const failedEvent = events.find((event) => event.type === "image.build_failed");
    expect(failedEvent.data).toMatchObject({
      reason: "step_failed",
      status: "build_failed",
      message: degraded.message,
    });
    expect(events.some((event) => event.type === "container.created")).toBe(false);
    const instances = await instancesOf(server, imageId);
    expect(instances.every((instance) => instance.container_id === null)).toBe(true);
  });

  it("a Dockerfile the engine cannot read fails with its message", async () => {
    const uploaded = await uploadImage(
      server,
      { name: "unreadable" },
      await archiveOf("zip", [{ name: "Dockerfile", content: "FORM nothing\n" }]),
    );
    expect(uploaded.status).toBe(202);
    await waitForStatus(server, uploaded.body.id, "build_failed");
    const logs = await server.request("GET", `/api/images/${uploaded.body.id}/build-logs`);
    expect(logs.body.failure_reason).toBe("build_error");
    expect(logs.body.error).toMatch(/unknown instruction: FORM/i);
  });

  it("a build over BUILD_TIMEOUT_SECONDS is cancelled as `timeout`, and never holds up other images", async () => {
    const slowNonce = `slow-${Math.random().toString(36).slice(2)}`;
    const uploaded = await uploadImage(
      server,
      { name: "slow" },
      await archiveOf(
        "tar",
        webApp("too slow\n", `RUN echo sleeping && sleep ${slowStepSeconds} # ${slowNonce}\n`),
      ),
    );
    expect(uploaded.status).toBe(202);
    const imageId = uploaded.body.id;
    const started = Date.now();
    await waitForStatus(server, imageId, "building", 30_000);

    // Meanwhile another image converges: builds do not block reconciliation.
    const other = await server.request("POST", "/api/images", {
      body: { name: "meanwhile", image: testImages.httpd, desired_instances: 1 },
    });
    expect(other.status).toBe(201);
    await waitFor(
      () => instancesOf(server, other.body.id),
      (items) => items.length === 1 && items[0].observed_state === "running",
      { what: "the other image running", timeoutMs: 30_000 },
    );
    expect((await getImage(server, imageId)).status).toBe("building");

    const failed = await waitForStatus(server, imageId, "build_failed", 240_000);
    // Cancelled by the timeout, not ended by its step.
    const elapsedSeconds = (Date.now() - started) / 1000;
    expect(elapsedSeconds).toBeGreaterThanOrEqual(timeoutSeconds - 1);
    expect(elapsedSeconds).toBeLessThan(slowStepSeconds);
    const logs = await server.request("GET", `/api/images/${imageId}/build-logs`);
    expect(logs.body.failure_reason).toBe("timeout");
    expect(logs.body.error).toBe(
      `build timed out after ${timeoutSeconds} s during step 3/3 : RUN echo sleeping && sleep ${slowStepSeconds} # ${slowNonce}`,
    );
    expect(failed.build_logs).toContain("sleeping\n");
    expect(failed.build_logs.trimEnd().endsWith(`ERROR: ${logs.body.error}`)).toBe(true);
    const degraded = await waitFor(
      async () => condition(await getImage(server, imageId), "Degraded"),
      (value) => value?.status === "True",
      { what: "Degraded condition" },
    );
    expect(degraded).toMatchObject({ reason: "BuildFailed", message: logs.body.error });
    const events = await eventsOf(server, imageId);
    expect(events.find((event) => event.type === "image.build_failed")?.data.reason).toBe(
      "timeout",
    );
    // The engine cancelled the build: the RUN step's process goes.
    await waitFor(
      () => hostProcessesRunning(slowNonce),
      (processes) => processes.length === 0,
      { what: "the RUN step of the cancelled build ended", timeoutMs: 30_000 },
    );
  }, 360_000);

  it("?follow=1 streams the log of a running build line by line until it ends", async () => {
    // A step no earlier run has cached, so that it really runs.
    const nonce = Math.random().toString(36).slice(2);
    const uploaded = await uploadImage(
      server,
      { name: "followed", desired_instances: "0" },
      await archiveOf(
        "tar.gz",
        webApp("followed\n", `RUN echo first-line ${nonce} && sleep 2 && echo second-line\n`),
      ),
    );
    expect(uploaded.status).toBe(202);
    const imageId = uploaded.body.id;
    const events = await readSse(
      `${server.url}/api/images/${imageId}/build-logs?follow=1`,
      server.adminToken,
      (event) => event.event === "end",
    );
    const lines = events.filter((event) => event.event === "log").map((event) => event.data);
    expect(lines).toContain(`first-line ${nonce}`);
    expect(lines).toContain("second-line");
    expect(lines.indexOf(`first-line ${nonce}`)).toBeLessThan(lines.indexOf("second-line"));
    expect(lines.some((line) => line.startsWith("Successfully tagged"))).toBe(true);
    const end = events.at(-1);
    expect(end?.event).toBe("end");
    expect(JSON.parse(end?.data ?? "{}")).toMatchObject({ status: "ready", failure_reason: null });

    // Following a finished build replays its log and ends at once.
    const replay = await readSse(
      `${server.url}/api/images/${imageId}/build-logs?follow=1`,
      server.adminToken,
      (event) => event.event === "end",
      10_000,
    );
    expect(replay.filter((event) => event.event === "log").map((event) => event.data)).toEqual(
      lines,
    );
  });
});
