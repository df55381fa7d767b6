import type { EventType, OrchestratorEvent } from "../client/index.ts";
import { eventTypes } from "../domain/events.ts";
import { CliError } from "./cli-error.ts";
import { type CommandIo, parseCommand, parseOutput } from "./command-io.ts";
import { latestEvents } from "./event-cursor.ts";
import { eventLine, eventTable } from "./event-format.ts";
import { findImage } from "./resolve-names.ts";

export const eventsHelp = `Usage: orchestrator events [-w] [--image NAME] [--type TYPE[,TYPE]] [-o table|json]

Prints the latest events of your images and containers (oldest first); with -w, keeps
printing each new one as it is written, until Ctrl-C.

Options:
  -w, --watch          print new events as they come
      --image NAME     only this image's events (and its containers')
      --type TYPES     only these types, comma-separated (container.started, image.scaled, ...)
      --limit N        how many past events to print first (default 50; 0: none)
  -o, --output F       table (default) or json (one JSON object per line)
  -h, --help           show this help`;

function parseTypes(value: string | undefined): EventType[] | undefined {
  if (value === undefined) return undefined;
  const types = value.split(",").map((type) => type.trim());
  const unknown = types.filter((type) => !(eventTypes as readonly string[]).includes(type));
  if (unknown.length > 0) {
    throw new CliError(`--type ${unknown.join(",")}: must be among ${eventTypes.join(", ")}`);
  }
  return types as EventType[];
}

export async function eventsCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand(
    args,
    {
      watch: { type: "boolean", short: "w" },
      image: { type: "string" },
      type: { type: "string" },
      limit: { type: "string" },
      output: { type: "string", short: "o" },
    },
    eventsHelp,
    io,
  );
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new CliError(`events takes no arguments (see --help)`);
  const output = parseOutput(values.output);
  const types = parseTypes(values.type);
  if (values.limit !== undefined && !/^\d{1,4}$/.test(values.limit)) {
    throw new CliError(`--limit ${values.limit}: must be a number`);
  }
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  const client = await io.client();
  const image = values.image === undefined ? undefined : (await findImage(client, values.image)).id;
  const query = {
    ...(image === undefined ? {} : { image }),
    ...(types === undefined ? {} : { types }),
  };
  const { events, newest } = await latestEvents(client, query, limit);
  const print = (event: OrchestratorEvent) =>
    io.out(output === "json" ? JSON.stringify(event) : eventLine(io.terminal, event));
  if (output === "table" && !values.watch) {
    if (events.length === 0) io.err("No events found.");
    else for (const line of eventTable(events)) io.out(line);
    return 0;
  }
  for (const event of events) print(event);
  if (!values.watch) return 0;
  for await (const event of client.events({ ...query, after: newest, signal: io.signal })) {
    print(event);
  }
  return 0;
}
