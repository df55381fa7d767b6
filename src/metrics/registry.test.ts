import { describe, expect, it } from "vitest";
import { createMetrics } from "./registry.ts";

/** `# TYPE name type` of every metric family in a scrape. */
function familyTypes(text: string): Map<string, string> {
  return new Map(
    [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1] ?? "", match[2] ?? ""]),
  );
}

describe("createMetrics", () => {
  it("exposes Node's standard series under the names stock dashboards use", async () => {
    const types = familyTypes(await createMetrics().registry.metrics());
    expect(Object.fromEntries(types)).toMatchObject({
      process_cpu_user_seconds_total: "counter",
      process_cpu_seconds_total: "counter",
      process_resident_memory_bytes: "gauge",
      process_start_time_seconds: "gauge",
      process_open_fds: "gauge",
      nodejs_eventloop_lag_seconds: "gauge",
      nodejs_heap_size_used_bytes: "gauge",
      nodejs_external_memory_bytes: "gauge",
      nodejs_active_handles: "gauge",
      nodejs_version_info: "gauge",
      nodejs_gc_duration_seconds: "histogram",
      orchestrator_http_request_duration_seconds: "histogram",
    });
    expect([...types.keys()].filter((name) => name.startsWith("orchestrator_"))).toEqual([
      "orchestrator_http_request_duration_seconds",
    ]);
  });

  it("names no gauge like a counter (promtool's rule: only counters end in _total)", async () => {
    const types = familyTypes(await createMetrics().registry.metrics());
    const misnamed = [...types].filter(
      ([name, type]) => name.endsWith("_total") !== (type === "counter"),
    );
    expect(misnamed).toEqual([]);
  });

  it("keeps each registry apart, so two services in one process do not collide", async () => {
    const [first, second] = [createMetrics(), createMetrics()];
    first.httpRequestDuration.observe({ method: "GET", route: "/x", status: "200" }, 0.01);
    expect(await first.registry.metrics()).toMatch(/route="\/x"/);
    expect(await second.registry.metrics()).not.toMatch(/route="\/x"/);
  });
});
