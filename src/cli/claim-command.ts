import { parseArgs } from "node:util";
import type { ClaimView } from "./api-types.ts";
import { CliError, callApi } from "./client.ts";
import type { CommandIo } from "./command-io.ts";

export const claimHelp = `Usage: orchestrator claim KEY --image NAME [--wait 10s] [-o text|json]

Claims an instance of the pooled image NAME for KEY (a project id) and prints where it answers.
The same KEY gets the same instance while its claim lives; with no idle instance the pool adds
one (up to its max) and the command waits for it (--wait, default 10s, at most 2m).

Options:
  --image NAME     the pooled image (one of yours)
  --wait DURATION  how long to wait for a free instance (e.g. 500ms, 10s, 1m)
  -o, --output F   text (default: the URL) or json (the whole claim)
  -h, --help       show this help`;

export const releaseHelp = `Usage: orchestrator release KEY [--image NAME]

Releases what KEY holds (on every pooled image of yours, or on NAME's only): the instance is
recycled before anyone else gets it. Releasing a key that holds nothing does nothing.

Options:
  --image NAME     only the claim on this image
  -h, --help       show this help`;

/** The id of the caller's image called `name` (the API's lists are by id). */
async function imageIdOf(io: CommandIo, name: string): Promise<number> {
  const images = await callApi<{ items: Array<{ id: number; name: string }> }>(
    await io.settings(),
    "GET",
    "/api/images",
  );
  const found = images.body.items.find((image) => image.name === name);
  if (found === undefined) throw new CliError(`no image named ${name}`);
  return found.id;
}

/** `orchestrator claim KEY --image NAME`. */
export async function claimCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      image: { type: "string" },
      wait: { type: "string" },
      output: { type: "string", short: "o" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.out(claimHelp);
    return 0;
  }
  const [key, ...extra] = positionals;
  if (key === undefined || extra.length > 0 || values.image === undefined) {
    throw new CliError(`claim needs one KEY and --image NAME\n${claimHelp}`);
  }
  if (values.output !== undefined && values.output !== "text" && values.output !== "json") {
    throw new CliError(`-o must be text or json, not ${values.output}`);
  }
  const imageId = await imageIdOf(io, values.image);
  const wait = values.wait === undefined ? "" : `?wait=${encodeURIComponent(values.wait)}`;
  const claimed = await callApi<ClaimView>(
    await io.settings(),
    "POST",
    `/api/images/${imageId}/claims${wait}`,
    { key },
  );
  if (values.output === "json") io.out(JSON.stringify(claimed.body, null, 2));
  else io.out(claimed.body.url ?? `${claimed.body.host}:${claimed.body.port}`);
  return 0;
}

/** `orchestrator release KEY [--image NAME]`. */
export async function releaseCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { image: { type: "string" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
  if (values.help) {
    io.out(releaseHelp);
    return 0;
  }
  const [key, ...extra] = positionals;
  if (key === undefined || extra.length > 0) {
    throw new CliError(`release needs one KEY\n${releaseHelp}`);
  }
  const image = values.image === undefined ? "" : `&image_id=${await imageIdOf(io, values.image)}`;
  const released = await callApi<{ items: ClaimView[] }>(
    await io.settings(),
    "DELETE",
    `/api/claims?key=${encodeURIComponent(key)}${image}`,
  );
  for (const claim of released.body.items) {
    io.out(`released ${claim.key} (instance ${claim.instance_id} of image ${claim.image_id})`);
  }
  if (released.body.items.length === 0) io.out(`${key} held nothing`);
  return 0;
}
