import { parseArgs } from "node:util";
import { stringify } from "yaml";
import type { ContainerView, ImageView, ImageWithContainersView, ItemsOf } from "./api-types.ts";
import { exitCodes } from "./cli-error.ts";
import { CliError, callApi } from "./client.ts";
import type { CommandIo } from "./command-io.ts";
import { type Columns, containerColumns, imageColumns } from "./get-rows.ts";
import { formatTable } from "./table.ts";

export const getHelp = `Usage: orchestrator get images|containers [NAME...] [-o table|wide|json|yaml]

Lists your images, or your containers (instances), with their desired and observed state.
Names narrow the list: image names for images; container ids, container names or image
names for containers.

Options:
  -o, --output FORMAT   table (default), wide (more columns), json or yaml (the API's fields)
  -h, --help            show this help`;

const formats = ["table", "wide", "json", "yaml"] as const;
type Format = (typeof formats)[number];

const kinds: Readonly<Record<string, "images" | "containers">> = {
  image: "images",
  images: "images",
  container: "containers",
  containers: "containers",
};

function print(
  items: readonly unknown[],
  columns: () => Columns,
  format: Format,
  io: CommandIo,
  named: boolean,
) {
  if (format === "json") io.out(JSON.stringify({ items }, null, 2));
  else if (format === "yaml") io.out(stringify({ items }).trimEnd());
  else if (items.length === 0) {
    if (!named) io.err("No resources found.");
  } else for (const line of formatTable(columns().headers, columns().rows)) io.out(line);
}

export async function getCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      output: { type: "string", short: "o" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.out(getHelp);
    return 0;
  }
  const [kindName, ...names] = positionals;
  const kind = kindName === undefined ? undefined : kinds[kindName];
  if (kind === undefined) throw new CliError(`get what? images or containers (see --help)`);
  const format = (values.output ?? "table") as Format;
  if (!formats.includes(format)) {
    throw new CliError(`-o ${values.output}: must be one of ${formats.join(", ")}`);
  }
  const settings = await io.settings();
  const now = new Date();
  const wanted = (...candidates: string[]) =>
    names.length === 0 || candidates.some((candidate) => names.includes(candidate));

  if (kind === "images") {
    const images = (
      await callApi<ItemsOf<ImageWithContainersView>>(
        settings,
        "GET",
        "/api/images/with-containers",
      )
    ).body.items.filter((image) => wanted(image.name));
    print(images, () => imageColumns(images, format === "wide", now), format, io, names.length > 0);
    const missing = names.filter((name) => !images.some((image) => image.name === name));
    for (const name of missing) io.err(`orchestrator: image ${name} not found`);
    return missing.length === 0 ? exitCodes.ok : exitCodes.failed;
  }
  const [containers, images] = await Promise.all([
    callApi<ItemsOf<ContainerView>>(settings, "GET", "/api/containers"),
    callApi<ItemsOf<ImageView>>(settings, "GET", "/api/images"),
  ]);
  const imageNames = new Map(images.body.items.map((image) => [image.id, image.name]));
  const shown = containers.body.items.filter((container) =>
    wanted(container.id, container.name, imageNames.get(container.image_id) ?? ""),
  );
  print(
    shown,
    () => containerColumns(shown, imageNames, format === "wide", now),
    format,
    io,
    names.length > 0,
  );
  return 0;
}
