/** Small helpers shared by the benchmarks. */
import { readFileSync } from "node:fs";

/** The node arguments of package.json's start script (`node <args>`): the service as users run it. */
export function startArguments(): string[] {
  const manifest = JSON.parse(
    readFileSync(new URL("../package.json", import.meta.url), "utf8"),
  ) as { scripts: { start: string } };
  const [command, ...args] = manifest.scripts.start.split(/\s+/);
  if (command !== "node") throw new Error(`unexpected start script: ${manifest.scripts.start}`);
  return args;
}

/** The V8 flags among them (--liftoff-only, --max-semi-space-size=…): for a bench in-process. */
export function serviceV8Flags(): string[] {
  return startArguments().filter(
    (arg) => arg.startsWith("--") && !/^--(experimental-strip-types|disable-warning)/.test(arg),
  );
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function seconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(2)} s`;
}

/** One line per benchmark result: what, ours, baseline, ratio, goal. */
export function report(name: string, fields: Record<string, string | number>): void {
  const text = Object.entries(fields)
    .map(([key, value]) => `${key}=${value}`)
    .join("  ");
  process.stdout.write(`[${name}] ${text}\n`);
}

export async function until(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out: ${what}`);
}

/** Whether the test httpd on a host port answers its page (within a second). */
export async function answers(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/index.html`, {
      signal: AbortSignal.timeout(1_000),
    });
    await response.text();
    return response.ok;
  } catch {
    return false;
  }
}

/** What starting a raw httpd container needs of dockerode (the benches' own baseline). */
type RawEngine = {
  createContainer(options: Record<string, unknown>): Promise<{
    start(): Promise<unknown>;
    inspect(): Promise<{
      NetworkSettings: { Ports: Record<string, Array<{ HostPort: string }> | undefined> };
    }>;
  }>;
};

/**
 * Creates and starts one container of `image` (the test httpd) with raw dockerode, labelled
 * `managed-by={label}` for cleanup, its port 8080 published on a dynamic host port: returns
 * that port. The baseline the orchestrator's own starts are compared with.
 */
export async function startRawHttpd(
  docker: RawEngine,
  image: string,
  name: string,
  label: string,
): Promise<number> {
  const container = await docker.createContainer({
    name,
    Image: image,
    Labels: { "managed-by": label },
    ExposedPorts: { "8080/tcp": {} },
    HostConfig: {
      PortBindings: { "8080/tcp": [{ HostIp: "0.0.0.0", HostPort: "" }] },
      NanoCpus: 100_000_000,
      Memory: 16 * 1024 * 1024,
    },
  });
  await container.start();
  const info = await container.inspect();
  return Number(info.NetworkSettings.Ports["8080/tcp"]?.[0]?.HostPort);
}
