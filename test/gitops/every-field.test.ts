/**
 * A desired-state file that uses every field of the image spec: it applies and converges on the
 * real engine, diffs clean, exports, and the export re-applies to no change (and says the same
 * as the file it came from).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { specFieldNames } from "../../src/domain/image-spec.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { cliInProcess } from "./cli-harness.ts";
import { removeTree, tempTree } from "./temp-tree.ts";

/** Every field of the spec, each away from its default. */
const everyField = `apiVersion: orchestrator/v1
kind: Image
metadata:
  name: full
spec:
  image: ${testImages.httpd}
  tag: latest
  app_hostname: full.example.com
  container_port: 8080
  min_instances: 1
  max_instances: 1
  desired_instances: 1
  cpu_limit: "0.2"
  memory_limit: 32m
  env: { MODE: full, EMPTY: "", TOKEN: { secret: api-token } }
  health_check: { http_path: /index.html, interval: 2s, timeout: 1s, retries: 2, start_period: 1s }
  command: [httpd, -f, -p, "8080", -h, /www]
  entrypoint: [/bin/busybox]
  working_dir: /www
  user: "1000:1000"
  hostname: full-host
  labels: { team: web, tier: front }
  stop_grace_period: 3s
  stop_signal: SIGINT
  # Secret files are written into the container: a read-only root is the other image's.
  read_only_root_filesystem: false
  tmpfs: [/tmp, { target: /scratch, size: 8m }]
  volumes: [{ type: volume, source: full-data, target: /data }]
  secrets: [api-token, { name: api-token, target: /etc/app/token }]
  networks: [backend]
  depends_on: [{ name: full-db, condition: started }]
  init: true
  ports: [{ container: 5353, protocol: udp }]
  restart_policy: { name: on-failure, max_retries: 3 }
  pull_policy: never
  pool: { min_idle: 1, max: 1, claim_ttl: 30m, recycle: replace }
  placement: { constraints: [node.platform.os == linux], spread: node.labels.zone }
  rollout: { max_surge: 1, max_unavailable: "0%", min_ready: 1s, progress_deadline: 5m }
`;

/** What `full` depends on, on the same declared network. */
const dependency = `apiVersion: orchestrator/v1
kind: Image
metadata:
  name: full-db
spec:
  image: ${testImages.httpd}
  # No desired_instances: an autoscaled count is the autoscaler's. A target any running process
  # passes takes it to 2, and the same file applied again must then change nothing.
  min_instances: 1
  max_instances: 2
  cpu_limit: "0.1"
  memory_limit: 16m
  networks: [backend]
  autoscale: { metric: memory, target: 0.01, scale_up_step: 1, scale_down_stabilization: 1m }
`;

/** Fields set by the admin only; the suite applies as the admin to use them too. */
const adminFields = `  cap_add: [NET_BIND_SERVICE]
`;

describe("a desired-state file with every field", () => {
  let server: TestServer;
  let root: string;
  let env: Record<string, string>;
  const cli = (...args: string[]) => cliInProcess(args, env);

  beforeAll(async () => {
    server = await startTestServer({
      env: { HEALTH_INTERVAL_SECONDS: "1", AUTOSCALE_INTERVAL_SECONDS: "1" },
    });
    env = { ORCHESTRATOR_URL: server.url, ORCHESTRATOR_TOKEN: server.adminToken };
    const secret = await server.request("POST", "/api/secrets", {
      body: { name: "api-token", value: "s3cr3t-value" },
    });
    expect(secret.status, JSON.stringify(secret.body)).toBe(201);
    root = await tempTree({
      "apps/full.yaml": everyField + adminFields,
      "apps/full-db.yaml": dependency,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await removeTree(root);
  });

  it("names every field of the spec (a new field must join this file)", () => {
    const named = new Set(
      [...(everyField + adminFields + dependency).matchAll(/^ {2}([a-z_]+):/gm)].map(
        (match) => match[1],
      ),
    );
    // build applies only to images built from a source: test/builds/build-options.test.ts
    // applies, diffs and exports it from a file.
    const missing = specFieldNames.filter(
      (name) => !named.has(name) && !["privileged", "devices", "build"].includes(name),
    );
    expect(missing).toEqual([]);
  });

  it("applies, converges, diffs clean, exports, and the export re-applies to no change", async () => {
    const applied = await cli("apply", "-f", join(root, "apps"), "--wait", "--timeout", "120s");
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    await waitFor(
      async () => (await server.request("GET", "/api/images")).body.items,
      (items: any[]) => items.find((image) => image.name === "full-db")?.desired_instances === 2,
      { what: "full-db autoscaled to 2", timeoutMs: 120_000 },
    );
    expect((await cli("diff", "-f", join(root, "apps"))).stdout).toBe("No changes.\n");

    const exported = join(root, "exported", "apps");
    const result = await cli("export", "--output-directory", exported);
    expect(result.code).toBe(0);
    const text = await readFile(join(exported, "full.yaml"), "utf8");
    expect(text).not.toContain("s3cr3t-value");
    for (const line of [
      "entrypoint:",
      "full-data",
      "api-token",
      "stop_signal: SIGINT",
      "pull_policy: never",
      "max_retries: 3",
      "node.platform.os==linux",
      "spread: node.labels.zone",
    ]) {
      expect(text).toContain(line);
    }
    const exportedDependency = await readFile(join(exported, "full-db.yaml"), "utf8");
    expect(exportedDependency).toContain("autoscale:");
    expect(exportedDependency).not.toContain("desired_instances");
    const diff = await cli("diff", "-f", exported);
    expect(diff).toMatchObject({ code: 0, stdout: "No changes.\n", stderr: "" });
    const again = await cli("apply", "-f", exported);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("No changes.\n");
  });
});
