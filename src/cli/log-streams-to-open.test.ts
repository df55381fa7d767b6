import { describe, expect, it } from "vitest";
import type { Instance } from "../client/index.ts";
import { type FollowedContainer, logStreamsToOpen } from "./log-streams-to-open.ts";

const instance = (id: string, container_id: string | null, observed_state = "running") =>
  ({ id, name: `web-${id}`, container_id, observed_state }) as Instance;

const opened = (instances: readonly Instance[], followed: [string, FollowedContainer][] = []) =>
  logStreamsToOpen(instances, new Map(followed)).map((stream) => ({
    id: stream.instance.id,
    since: stream.since?.toISOString(),
  }));

describe("logStreamsToOpen", () => {
  const ended = new Date("2026-12-04T11:00:00.000Z");

  it("opens a running container never followed from its first line (a scale-up)", () => {
    expect(
      opened([instance("a", "c1"), instance("b", "c2")], [["c1", { streaming: true }]]),
    ).toEqual([{ id: "b", since: undefined }]);
  });

  it("opens the new container of a replaced instance from its first line", () => {
    const followed: [string, FollowedContainer][] = [["c1", { streaming: false, endedAt: ended }]];
    expect(opened([instance("a", "c9")], followed)).toEqual([{ id: "a", since: undefined }]);
  });

  it("opens a restarted container again from where its stream ended", () => {
    const followed: [string, FollowedContainer][] = [["c1", { streaming: false, endedAt: ended }]];
    expect(opened([instance("a", "c1")], followed)).toEqual([
      { id: "a", since: ended.toISOString() },
    ]);
  });

  it("leaves alone what is streamed already, has no container, or does not run", () => {
    expect(
      opened(
        [
          instance("a", "c1"),
          instance("b", null, "pending"),
          instance("c", "c3", "creating"),
          instance("d", "c4", "exited"),
          instance("e", "c5", "stopped"),
        ],
        [["c1", { streaming: true }]],
      ),
    ).toEqual([]);
  });
});
