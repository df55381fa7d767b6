import { describe, expect, it } from "vitest";
import { reconnectBackoff } from "./postgres-reconnect.ts";

describe("reconnectBackoff", () => {
  it("doubles from tens of milliseconds and never waits more than two seconds", () => {
    for (let round = 0; round < 50; round += 1) {
      expect(reconnectBackoff(0)).toBeGreaterThanOrEqual(0.025);
      expect(reconnectBackoff(0)).toBeLessThanOrEqual(0.05);
      expect(reconnectBackoff(3)).toBeGreaterThanOrEqual(0.2);
      expect(reconnectBackoff(3)).toBeLessThanOrEqual(0.4);
      for (const retries of [6, 7, 20, 1000]) {
        expect(reconnectBackoff(retries)).toBeGreaterThanOrEqual(1);
        expect(reconnectBackoff(retries)).toBeLessThanOrEqual(2);
      }
    }
  });
});
