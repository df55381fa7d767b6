import { parseArgs } from "node:util";
import { diffExitCode } from "../gitops/plan-format.ts";
import { applyRound } from "./apply-round.ts";
import { type CommandIo, printFileErrors, requirePaths } from "./command-io.ts";
import { resolveSetName } from "./set-name.ts";

export const diffHelp = `Usage: orchestrator diff -f FILE_OR_FOLDER [-f ...] [options]

Prints what "orchestrator apply" would change, and changes nothing (made for CI).

Options:
  -f, --filename PATH   a file or folder (repeatable)
      --set NAME        the apply set (default: the name of the first folder given)
      --prune           also show the images of the set that apply --prune would delete
      --allow-empty     as for apply --prune
  -h, --help            show this help

Exit status: 0 nothing would change, 1 something would, 2 on errors (bad files, flags,
server errors).`;

export async function diffCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      filename: { type: "string", short: "f", multiple: true },
      set: { type: "string" },
      prune: { type: "boolean" },
      "allow-empty": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: false,
  });
  if (values.help) {
    io.out(diffHelp);
    return 0;
  }
  const paths = requirePaths(values.filename);
  const options = {
    paths,
    set: await resolveSetName(values.set, paths),
    prune: values.prune ?? false,
    allowEmpty: values["allow-empty"] ?? false,
    dryRun: true,
  };
  const round = await applyRound(await io.settings(), options, io.out);
  if (!round.ok) {
    printFileErrors(round.errors, io.err, "nothing was compared");
    return 2;
  }
  return diffExitCode(round.plan);
}
