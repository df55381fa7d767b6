import { describe, expect, it } from "vitest";
import { formatAge, formatTable } from "./table.ts";

describe("formatTable", () => {
  it("pads every column to its widest cell, three spaces apart, without trailing spaces", () => {
    expect(
      formatTable(
        ["ID", "NAME", "NOTE"],
        [
          ["1", "web", ""],
          ["12", "api-server", "x"],
        ],
      ),
    ).toEqual(["ID   NAME         NOTE", "1    web", "12   api-server   x"]);
  });
});

describe("formatAge", () => {
  const now = new Date("2025-01-10T12:00:00Z");
  it.each([
    ["2025-01-10T11:59:15Z", "45s"],
    ["2025-01-10T11:58:00Z", "2m"],
    ["2025-01-10T09:00:00Z", "3h"],
    ["2025-01-07T12:00:00Z", "3d"],
    ["2025-01-10T12:00:05Z", "0s"],
  ])("%s → %s", (from, age) => {
    expect(formatAge(from, now)).toBe(age);
  });
  it("says unknown without a time", () => {
    expect(formatAge(null, now)).toBe("<unknown>");
  });
});
