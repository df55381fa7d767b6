import { describe, expect, it } from "vitest";
import { colorFor, paint, terminalOf } from "./terminal.ts";

describe("terminalOf", () => {
  it("colours a terminal, not a pipe, and honours NO_COLOR, TERM=dumb and FORCE_COLOR", () => {
    expect(terminalOf(true, {})).toEqual({ tty: true, color: true });
    expect(terminalOf(false, {})).toEqual({ tty: false, color: false });
    expect(terminalOf(true, { NO_COLOR: "1" }).color).toBe(false);
    expect(terminalOf(true, { TERM: "dumb" }).color).toBe(false);
    expect(terminalOf(false, { FORCE_COLOR: "1" }).color).toBe(true);
    expect(terminalOf(false, { FORCE_COLOR: "0" }).color).toBe(false);
  });
});

describe("paint", () => {
  it("adds escapes only with colour on", () => {
    expect(paint({ tty: true, color: true }, "red", "x")).toBe("\u001b[31mx\u001b[39m");
    expect(paint({ tty: true, color: false }, "red", "x")).toBe("x");
  });

  it("gives a name the same colour every time", () => {
    expect(colorFor("web-1")).toBe(colorFor("web-1"));
  });
});
