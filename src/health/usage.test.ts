import { describe, expect, it } from "vitest";
import { classify } from "./classify.ts";
import { usageOf } from "./usage.ts";

const sample = (totalUsage: number, system: number, extra: object = {}) => ({
  cpu_stats: { cpu_usage: { total_usage: totalUsage }, system_cpu_usage: system, online_cpus: 2 },
  memory_stats: {
    usage: 60 * 1024 * 1024,
    limit: 1024 ** 3,
    stats: { total_inactive_file: 10 * 1024 * 1024 },
  },
  networks: { eth0: { rx_bytes: 100, tx_bytes: 50 }, eth1: { rx_bytes: 1, tx_bytes: 2 } },
  blkio_stats: {
    io_service_bytes_recursive: [
      { op: "Read", value: 4096 },
      { op: "Write", value: 8192 },
      { op: "Total", value: 12288 },
    ],
  },
  ...extra,
});

describe("usageOf", () => {
  it("expresses CPU as a share of the container's limit, from two samples", () => {
    // 0.25 s of CPU over 1 s of a 2-core host (system counts both cores: 2 s) = 0.25 cores; limit 0.5 → 50 %.
    const usage = usageOf(
      sample(0, 0),
      sample(250_000_000, 2_000_000_000),
      500_000_000,
      100 * 1024 * 1024,
    );
    expect(usage.cpuUsage).toBe(50);
  });

  it("has no CPU figure without a previous sample", () => {
    expect(usageOf(undefined, sample(1, 1), 1e9, 1).cpuUsage).toBeNull();
  });

  it("excludes page cache from memory, and sums networks and block I/O", () => {
    const usage = usageOf(undefined, sample(0, 0), 1e9, 100 * 1024 * 1024);
    expect(usage.memoryBytes).toBe(50 * 1024 * 1024);
    expect(usage.memoryUsage).toBe(50);
    expect([
      usage.networkRxBytes,
      usage.networkTxBytes,
      usage.blockReadBytes,
      usage.blockWriteBytes,
    ]).toEqual([101, 52, 4096, 8192]);
  });
});

describe("classify", () => {
  const base = { running: true, cpuUsage: 10, memoryUsage: 10, diskUsage: 10, probeFailing: false };
  it.each([
    [{ ...base }, "healthy"],
    [{ ...base, running: false }, "stopped"],
    [{ ...base, memoryUsage: 85 }, "warning"],
    [{ ...base, cpuUsage: 80 }, "warning"],
    [{ ...base, diskUsage: 90 }, "warning"],
    [{ ...base, memoryUsage: 97 }, "critical"],
    [{ ...base, diskUsage: 95 }, "critical"],
    [{ ...base, probeFailing: true }, "critical"],
    [{ ...base, cpuUsage: null, memoryUsage: null, diskUsage: null }, "healthy"],
  ] as const)("%o is %s", (sampleValue, status) => {
    expect(classify(sampleValue)).toBe(status);
  });
});
