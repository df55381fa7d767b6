import { describe, expect, it } from "vitest";
import { CliError } from "./cli-error.ts";
import { exportTarget } from "./export-command.ts";

describe("exportTarget", () => {
  it("writes to standard output by default and with -o yaml", () => {
    expect(exportTarget(undefined, undefined)).toEqual({ folder: undefined });
    expect(exportTarget("yaml", undefined)).toEqual({ folder: undefined });
  });

  it("writes into the folder of --output-directory, whatever -o yaml says", () => {
    expect(exportTarget(undefined, "apps")).toEqual({ folder: "apps" });
    expect(exportTarget("yaml", "apps")).toEqual({ folder: "apps" });
  });

  it("still takes -o FOLDER, with a deprecation warning that names the new flag", () => {
    expect(exportTarget("exported/apps", undefined)).toEqual({
      folder: "exported/apps",
      warning:
        'warning: "export -o FOLDER" is deprecated: use --output-directory exported/apps (-o is the output format, as in get)',
    });
  });

  it("refuses other commands' formats and a folder given twice", () => {
    expect(() => exportTarget("json", undefined)).toThrow(
      new CliError("-o json: export writes yaml (the files apply reads)"),
    );
    expect(() => exportTarget("wide", undefined)).toThrow(CliError);
    expect(() => exportTarget("apps", "other")).toThrow(
      "-o apps: must be yaml (the folder is --output-directory)",
    );
  });
});
