import { describe, expect, it } from "vitest";
import { tablesNeedingVacuum } from "./autovacuum-policy.ts";

const table = (name: string, rows: number, deadRows: number, modifiedSinceAnalyze = 0) => ({
  table: name,
  rows,
  deadRows,
  modifiedSinceAnalyze,
  vacuumedAt: null,
});

describe("tablesNeedingVacuum (Postgres's autovacuum thresholds)", () => {
  it("vacuums past 50 dead rows plus 20 % of the table, most dead rows first", () => {
    expect(
      tablesNeedingVacuum([
        table("quiet", 0, 50),
        table("images", 32, 1_025),
        table("events", 10_000, 2_001),
        table("big", 10_000, 2_051),
      ]),
    ).toEqual(["big", "images"]);
  });

  it("also analyzes past 50 changed rows plus 10 % (a table that only grows)", () => {
    expect(
      tablesNeedingVacuum([table("events", 1_000, 0, 151), table("audit", 1_000, 0, 150)]),
    ).toEqual(["events"]);
  });

  it("leaves a database with nothing to do alone", () => {
    expect(tablesNeedingVacuum([])).toEqual([]);
    expect(tablesNeedingVacuum([table("images", 32, 10, 10)])).toEqual([]);
  });
});
