import { describe, expect, it } from "vitest";
import { RecentIds } from "./recent-ids.ts";

describe("recent event ids", () => {
  it("remembers the newest ids, forgets the oldest past the limit, and never changes a value", () => {
    let ids = RecentIds.keeping(3, 2);
    const empty = ids;
    for (const id of ["a", "b", "c", "d", "e", "f"]) ids = ids.with(id);
    expect(["a", "b", "c", "d", "e", "f"].every((id) => ids.has(id))).toBe(true);
    const full = ids;
    ids = ids.with("g");
    // The oldest chunk (a, b, c) went; the rest stay.
    expect(["a", "b", "c"].some((id) => ids.has(id))).toBe(false);
    expect(["d", "e", "f", "g"].every((id) => ids.has(id))).toBe(true);
    // Earlier values are untouched.
    expect(empty.has("a")).toBe(false);
    expect(full.has("a")).toBe(true);
    expect(full.has("g")).toBe(false);
  });

  it("keeps about 10,000 by default", () => {
    let ids = RecentIds.empty;
    for (let index = 0; index < 10_000; index++) ids = ids.with(`event-${index}`);
    expect(ids.has("event-0")).toBe(true);
    expect(ids.has("event-9999")).toBe(true);
    for (let index = 10_000; index < 10_500; index++) ids = ids.with(`event-${index}`);
    expect(ids.has("event-0")).toBe(false);
    expect(ids.has("event-500")).toBe(true);
  });
});
