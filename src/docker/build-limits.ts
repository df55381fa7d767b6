import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export type BuildLimits = {
  readonly memoryBytes: number;
  readonly nanoCpus: number;
};

/** Where the engine's BuildKit runs build steps (cgroupfs driver, default cgroup parent). */
const cgroupRoot = "/sys/fs/cgroup";
const buildkitGroup = "docker/buildkit";
const cpuPeriodMicros = 100_000;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes a cgroup file, creating the group first (the engine would make it at its first build). */
async function writeControl(group: string, file: string, value: string): Promise<void> {
  await mkdir(group, { recursive: true });
  const path = join(group, file);
  const current = await readFile(path, "utf8").catch(() => undefined);
  if (current?.trim() === value) return;
  await writeFile(path, value);
}

/**
 * BuildKit inside the engine ignores the build API's memory and CPU fields: every step runs in
 * the engine's `docker/buildkit` cgroup. The limits are written there, for all builds of the
 * engine together (one build at a time by default, so per build in practice). Possible only
 * when the engine runs on this host and its cgroups can be written (root); the caller says so
 * otherwise. cgroup v1 (a hierarchy per controller) and v2 (one unified hierarchy).
 */
export async function limitBuildKitSteps(limits: BuildLimits): Promise<void> {
  const quotaMicros = Math.max(1_000, Math.round((limits.nanoCpus / 1e9) * cpuPeriodMicros));
  if (await exists(join(cgroupRoot, "cgroup.controllers"))) {
    const group = join(cgroupRoot, buildkitGroup);
    await writeControl(group, "memory.max", String(limits.memoryBytes));
    await writeControl(group, "cpu.max", `${quotaMicros} ${cpuPeriodMicros}`);
    return;
  }
  await writeControl(
    join(cgroupRoot, "memory", buildkitGroup),
    "memory.limit_in_bytes",
    String(limits.memoryBytes),
  );
  const cpu = join(cgroupRoot, "cpu", buildkitGroup);
  await writeControl(cpu, "cpu.cfs_period_us", String(cpuPeriodMicros));
  await writeControl(cpu, "cpu.cfs_quota_us", String(quotaMicros));
}
