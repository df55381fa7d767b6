import type { Instance, Orchestrator } from "../client/index.ts";
import { CliError } from "./cli-error.ts";
import { type CommandIo, parseCommand, parseSince } from "./command-io.ts";
import { allLines, followImageLogs } from "./follow-image-logs.ts";
import { findLogTargets } from "./resolve-names.ts";
import { colorFor, paint, type Terminal } from "./terminal.ts";

export const logsHelp = `Usage: orchestrator logs IMAGE|INSTANCE [-f] [--since D] [--tail N]

Prints what an instance wrote (stdout and stderr). Given an image, prints every instance of
it, each line prefixed with [instance name] (like kubectl logs -l); with -f their lines
interleave as they come, and containers that start later (a scale-up, a replacement, a
restart) are followed too, from their first line, until Ctrl-C or the image is deleted.

Options:
  -f, --follow      keep printing new lines: an instance's until its container ends, an
                    image's until Ctrl-C
      --since D     only lines newer than D ago (10s, 5m, 2h) or an RFC 3339 time
      --tail N      the last N lines of each instance (default 200; -1: all of them)
      --prefix      prefix lines with [instance name] even for one instance
  -h, --help        show this help`;

/** `[web-1a2b3c] line`, the prefix coloured per instance on a terminal. Pure. */
export function prefixed(terminal: Terminal, name: string, line: string): string {
  return `${paint(terminal, colorFor(name), `[${name}]`)} ${line}`;
}

function parseTail(value: string | undefined): number | undefined {
  if (value === undefined) return 200;
  if (value === "-1") return allLines;
  if (!/^\d{1,6}$/.test(value)) throw new CliError(`--tail ${value}: must be a number of lines`);
  return Number(value);
}

/** One instance followed until its container ends (or Ctrl-C). */
async function followInstance(
  client: Orchestrator,
  instance: Instance,
  options: { tail: number | undefined; since: Date | undefined; prefix: boolean },
  io: CommandIo,
): Promise<void> {
  const lines = client.containers.followLogs(instance.id, {
    signal: io.signal,
    ...(options.tail === undefined ? {} : { tail: options.tail }),
    ...(options.since === undefined ? {} : { since: options.since }),
  });
  for await (const line of lines) {
    io.out(options.prefix ? prefixed(io.terminal, instance.name, line) : line);
  }
}

export async function logsCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand(
    args,
    {
      follow: { type: "boolean", short: "f" },
      since: { type: "string" },
      tail: { type: "string" },
      prefix: { type: "boolean" },
    },
    logsHelp,
    io,
  );
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new CliError("logs needs one IMAGE or INSTANCE (see --help)");
  const tail = parseTail(values.tail);
  const since = parseSince(values.since, new Date());
  const client = await io.client();
  const target = await findLogTargets(client, positionals[0] as string);
  const instances = target.instances.filter((instance) => instance.container_id !== null);
  if (values.follow && target.image !== undefined) {
    if (instances.length === 0) io.err(`orchestrator: ${target.image.name} has no containers yet`);
    await followImageLogs(
      client,
      target.image,
      { tail, since, signal: io.signal },
      (instance, line) => io.out(prefixed(io.terminal, instance.name, line)),
      (message) => io.err(`orchestrator: ${message}`),
    );
    return 0;
  }
  if (instances.length === 0) {
    io.err(`orchestrator: ${positionals[0]} has no containers yet`);
    return 0;
  }
  const prefix = values.prefix === true || target.image !== undefined;
  if (values.follow) {
    await followInstance(client, instances[0] as Instance, { tail, since, prefix }, io);
    return 0;
  }
  for (const instance of instances) {
    const text = await client.containers.logs(instance.id, {
      ...(tail === undefined ? {} : { tail }),
      ...(since === undefined ? {} : { since }),
    });
    const lines = (text ?? "").split("\n");
    if (lines.at(-1) === "") lines.pop();
    for (const line of lines) io.out(prefix ? prefixed(io.terminal, instance.name, line) : line);
  }
  return 0;
}
