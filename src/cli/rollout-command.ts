import type { Orchestrator, Revision } from "../client/index.ts";
import { formatDuration } from "../domain/duration.ts";
import { CliError, exitCodes } from "./cli-error.ts";
import {
  type CommandIo,
  defaultWaitTimeoutMs,
  parseCommand,
  parseOutput,
  parseTimeout,
} from "./command-io.ts";
import { latestEvents } from "./event-cursor.ts";
import { findImage } from "./resolve-names.ts";
import { observeRollout, type RolloutObservation, type RolloutVerdict } from "./rollout-verdict.ts";
import { formatAge, formatTable } from "./table.ts";
import { readImage } from "./wait-images.ts";

export const rolloutSubcommands = ["status", "history", "undo", "pause", "resume"] as const;

export const rolloutHelp = `Usage: orchestrator rollout status|history|undo|pause|resume IMAGE

Manages the rollout of an image's revisions (each change of what its containers run is a
revision; the last 10 are kept), like kubectl rollout.

Commands:
  status IMAGE              follow the rollout live until it is done: exit 0 once every
                            instance runs the current revision and is ready, 1 when it fails
                            or is rolled back (image.rollout_failed / image.rolled_back)
  history IMAGE             list the kept revisions: number, cause, who, when, Docker image
  undo IMAGE                roll back to the previous revision (a new revision; an uploaded
                            image runs that revision's kept build again, no build)
  pause IMAGE               hold the rollout where it is
  resume IMAGE              let a held rollout go on

Options:
      --to-revision N       undo: the revision to return to (default: the previous one)
      --timeout DURATION    status: give up after this long, exit 1 (default 5m)
  -o, --output F            history: table (default) or json
  -h, --help                show this help`;

/** `sha256:0123456789ab…` → `0123456789ab`, like docker images. */
const shortImageId = (id: string | null) =>
  id === null ? "<none>" : id.replace(/^sha256:/, "").slice(0, 12);

/** The history table, newest first, the current revision marked. Pure. */
export function historyLines(revisions: readonly Revision[], now: Date): string[] {
  return formatTable(
    ["REVISION", "CAUSE", "BY", "AGE", "IMAGE ID", "CREATED"],
    revisions.map((revision) => [
      `${revision.revision}${revision.current ? " *" : ""}`,
      revision.cause,
      revision.actor,
      formatAge(revision.created_at, now),
      shortImageId(revision.docker_image_id),
      revision.created_at,
    ]),
  );
}

/**
 * `rollout status`: reads the image, then again on each of its events (and every 2 s in case a
 * change came without one), and decides with `observeRollout` until it is complete or failed.
 */
async function followStatus(
  client: Orchestrator,
  image: { readonly id: number; readonly name: string },
  timeoutMs: number,
  io: CommandIo,
): Promise<number> {
  const stop = new AbortController();
  const pending: RolloutObservation[] = [];
  let dirty = true;
  let wake: (() => void) | undefined;
  const poke = () => {
    dirty = true;
    wake?.();
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort();
  }, timeoutMs);
  const interrupt = () => stop.abort();
  io.signal.addEventListener("abort", interrupt);
  stop.signal.addEventListener("abort", () => wake?.());
  const resync = setInterval(poke, 2_000);
  let verdict: RolloutVerdict = { state: "progressing", message: "waiting for the image" };
  let printed = "";
  try {
    const { newest } = await latestEvents(client, { image: image.id }, 0);
    void (async () => {
      try {
        for await (const event of client.events({
          image: image.id,
          after: newest,
          signal: stop.signal,
        })) {
          pending.push({ kind: "event", event });
          poke();
        }
      } catch {
        // A refused stream: the resync still reads the image every 2 s.
      }
    })();
    for (;;) {
      if (dirty) {
        dirty = false;
        verdict = observeRollout(image.id, verdict, {
          kind: "image",
          image: await readImage(client, image.id),
        });
        for (const observation of pending.splice(0)) {
          verdict = observeRollout(image.id, verdict, observation);
        }
      }
      if (verdict.state === "complete") {
        const [current] = await client.images.revisions(image.id);
        io.out(
          `image/${image.name} ${current === undefined ? "" : `revision ${current.revision} `}successfully rolled out (${verdict.message})`,
        );
        return exitCodes.ok;
      }
      if (verdict.state === "failed") {
        throw new CliError(`image/${image.name}: ${verdict.message}`, exitCodes.failed);
      }
      if (verdict.message !== printed) {
        printed = verdict.message;
        io.out(`Waiting for rollout of image/${image.name} to finish: ${verdict.message}`);
      }
      if (stop.signal.aborted) {
        if (!timedOut) throw new CliError("interrupted while waiting", exitCodes.failed);
        throw new CliError(
          `timed out after ${formatDuration(timeoutMs)} waiting for the rollout of image/${image.name} (${verdict.message})`,
          exitCodes.failed,
        );
      }
      if (!dirty) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    }
  } finally {
    clearTimeout(timer);
    clearInterval(resync);
    io.signal.removeEventListener("abort", interrupt);
    stop.abort();
  }
}

/** `orchestrator rollout status|history|undo|pause|resume IMAGE`. */
export async function rolloutCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand(
    args,
    {
      "to-revision": { type: "string" },
      timeout: { type: "string" },
      output: { type: "string", short: "o" },
    },
    rolloutHelp,
    io,
  );
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const [verb, name, ...extra] = positionals;
  if (verb === undefined || !(rolloutSubcommands as readonly string[]).includes(verb)) {
    throw new CliError(`rollout what? ${rolloutSubcommands.join(", ")} (see --help)`);
  }
  if (name === undefined || extra.length > 0) {
    throw new CliError(`rollout ${verb} needs one IMAGE (see --help)`);
  }
  if (values["to-revision"] !== undefined && verb !== "undo") {
    throw new CliError("--to-revision goes with rollout undo");
  }
  const toRevision = values["to-revision"];
  if (toRevision !== undefined && !/^[1-9]\d{0,8}$/.test(toRevision)) {
    throw new CliError(`--to-revision ${toRevision}: must be a revision number`);
  }
  const output = parseOutput(values.output);
  const timeoutMs = parseTimeout(values.timeout, defaultWaitTimeoutMs);
  const client = await io.client();
  const image = await findImage(client, name);
  switch (verb) {
    case "status":
      return followStatus(client, image, timeoutMs, io);
    case "history": {
      const revisions = await client.images.revisions(image.id);
      if (output === "json") {
        for (const revision of revisions) io.out(JSON.stringify(revision));
      } else if (revisions.length === 0) io.err(`image/${image.name} has no revision yet.`);
      else for (const line of historyLines(revisions, new Date())) io.out(line);
      return 0;
    }
    case "undo": {
      const revision = await client.images.rollback(
        image.id,
        toRevision === undefined ? {} : { revision: Number(toRevision) },
      );
      io.out(`image/${image.name} rolled back: revision ${revision.revision} (${revision.cause})`);
      return 0;
    }
    default: {
      const paused = verb === "pause";
      const state = paused
        ? await client.images.pauseRollout(image.id)
        : await client.images.resumeRollout(image.id);
      io.out(`image/${image.name} rollout ${state.rollout_paused ? "paused" : "resumed"}`);
      return 0;
    }
  }
}
