import type { Instance, InstanceHealth } from "../client/index.ts";
import { formatBytes } from "./byte-format.ts";
import { CliError } from "./cli-error.ts";
import { type CommandIo, parseCommand, parseOutput } from "./command-io.ts";
import { findImage } from "./resolve-names.ts";
import { formatAge, formatTable } from "./table.ts";

export const topHelp = `Usage: orchestrator top [IMAGE] [-o table|json]

CPU and memory of your running instances (or one image's), from the latest resource
sample the server took of each (every HEALTH_INTERVAL_SECONDS).

Options:
  -o, --output F   table (default) or json
  -h, --help       show this help`;

const percent = (value: number | null | undefined) =>
  value === null || value === undefined ? "-" : `${value.toFixed(1)}%`;

/** One row per instance: name, image, CPU %, memory % and bytes, status, sample age. Pure. */
export function topRows(
  rows: ReadonlyArray<{ instance: Instance; imageName: string; health: InstanceHealth }>,
  now: Date,
): string[] {
  return formatTable(
    ["NAME", "IMAGE", "CPU", "MEMORY", "MEMORY BYTES", "STATUS", "SAMPLED"],
    rows.map(({ instance, imageName, health }) => [
      instance.name,
      imageName,
      percent(health.cpu_usage),
      percent(health.memory_usage),
      health.memory_bytes === null || health.memory_bytes === undefined
        ? "-"
        : formatBytes(health.memory_bytes),
      health.status,
      health.sampled_at === null ? "<no sample>" : `${formatAge(health.sampled_at, now)} ago`,
    ]),
  );
}

export async function topCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand(args, { output: { type: "string", short: "o" } }, topHelp, io);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new CliError("top takes at most one IMAGE (see --help)");
  const output = parseOutput(values.output);
  const client = await io.client();
  const images = await client.images.list();
  const only = positionals[0] === undefined ? undefined : await findImage(client, positionals[0]);
  const instances = (
    await client.containers.list(only === undefined ? {} : { image: only.id })
  ).filter((instance) => instance.observed_state === "running");
  const names = new Map(images.map((image) => [image.id, image.name]));
  const rows = await Promise.all(
    instances.map(async (instance) => ({
      instance,
      imageName: names.get(instance.image_id) ?? String(instance.image_id),
      health: await client.containers.health(instance.id),
    })),
  );
  if (output === "json") {
    io.out(JSON.stringify({ items: rows.map((row) => row.health) }, null, 2));
    return 0;
  }
  if (rows.length === 0) {
    io.err("No running instances.");
    return 0;
  }
  for (const line of topRows(rows, new Date())) io.out(line);
  return 0;
}
