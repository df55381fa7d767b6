import { describe, expect, it } from "vitest";
import { awayAtStart, type BrokerReach, probesWhile, reachAfterPublish } from "./broker-reach.ts";

const all: BrokerReach[] = ["reached", "unreachable", "woken"];

describe("what the sink knows of reaching its brokers", () => {
  it("follows each publish", () => {
    for (const reach of all) expect(reachAfterPublish(reach, "reached")).toBe("reached");
    expect(reachAfterPublish("reached", "connection failed")).toBe("unreachable");
    expect(reachAfterPublish("unreachable", "connection failed")).toBe("unreachable");
    // A probe's word that was wrong is not taken again until a publish reaches a broker.
    expect(reachAfterPublish("woken", "connection failed")).toBe("woken");
  });

  it("counts the broker away at once only after a publish that could not connect", () => {
    expect(all.map((reach) => [reach, awayAtStart(reach), probesWhile(reach)])).toEqual([
      ["reached", false, false],
      ["unreachable", true, true],
      ["woken", false, true],
    ]);
  });
});
