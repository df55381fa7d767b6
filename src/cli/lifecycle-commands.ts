import { CliError } from "./cli-error.ts";
import { type CommandIo, parseCommand } from "./command-io.ts";
import { findImage, findInstance } from "./resolve-names.ts";

export const scaleHelp = `Usage: orchestrator scale NAME --instances N

Sets how many instances an image should run (its desired_instances, between its
min_instances and max_instances); the controller starts or stops containers to match.

Options:
      --instances N   the number of instances
  -h, --help          show this help`;

export const instanceHelp = (verb: string) => `Usage: orchestrator ${verb} INSTANCE

${
  {
    start: "Asks for a stopped instance to run again.",
    stop: "Asks for an instance to stop; it stays, stopped, until started (or the image scales).",
    restart: "Restarts an instance's container (stopped, then started again, same instance).",
  }[verb] ?? ""
} INSTANCE is its id, short id or container name.

Options:
  -h, --help   show this help`;

export async function scaleCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand(
    args,
    {
      instances: { type: "string" },
      replicas: { type: "string" },
    },
    scaleHelp,
    io,
  );
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const count = values.instances ?? values.replicas;
  if (positionals.length !== 1 || count === undefined) {
    throw new CliError("scale needs an image and a count: scale NAME --instances N");
  }
  if (!/^\d{1,6}$/.test(count)) throw new CliError(`--instances ${count}: must be a number`);
  const client = await io.client();
  const image = await findImage(client, positionals[0] as string);
  const updated = await client.images.update(image.id, { desired_instances: Number(count) });
  io.out(`image/${updated.name} scaled to ${updated.desired_instances}`);
  return 0;
}

const verbs = {
  start: { call: "start", done: "started" },
  stop: { call: "stop", done: "stopped" },
  restart: { call: "restart", done: "restarted" },
} as const;

/** `start|stop|restart INSTANCE`: the desired state of one instance. */
export async function instanceCommand(
  verb: keyof typeof verbs,
  args: readonly string[],
  io: CommandIo,
): Promise<number> {
  const parsed = parseCommand(args, {}, instanceHelp(verb), io);
  if (parsed === undefined) return 0;
  const { positionals } = parsed;
  if (positionals.length !== 1) throw new CliError(`${verb} needs one INSTANCE (see --help)`);
  const client = await io.client();
  const instance = await findInstance(client, positionals[0] as string);
  await client.containers[verbs[verb].call](instance.id);
  io.out(`container/${instance.name} ${verbs[verb].done}`);
  return 0;
}
