/**
 * The router's added latency: the same GET of the test httpd (one container on the local engine)
 * sent directly to its host port and through `orchestrator router` (in this process, its table
 * fed the container's `container.started` event), alternating one by one so that both see the
 * same machine load. Prints p50 and p99 of each and what the router adds. BENCH_REQUESTS (1000)
 * per path. Run: `node bench/router/router.ts`.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import { connectDocker } from "../../src/docker/connection.ts";
import { createLogger } from "../../src/logger.ts";
import { startRouter } from "../../src/router/router.ts";
import { ensureBaseImage } from "../../test/support/base-image.ts";
import { ensureTestImages, testImages } from "../../test/support/test-images.ts";
import { removeManagedContainers } from "../../test/support/test-server.ts";
import { answers, report, startRawHttpd, until } from "../support.ts";

const requests = Number(process.env.BENCH_REQUESTS ?? 1000);
const docker = connectDocker(process.env.DOCKER_HOST);

/** Milliseconds for one GET of /index.html with `Host: host` (a new connection each, like httpd's). */
function timedGet(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(
      { host: "127.0.0.1", port, path: "/index.html", headers: { host }, agent: false },
      (response) => {
        response.resume();
        response.on("end", () => {
          if (response.statusCode === 200) resolve(performance.now() - started);
          else reject(new Error(`status ${response.statusCode}`));
        });
      },
    );
    request.on("error", reject);
    request.end();
  });
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] as number;
}

const ms = (value: number) => `${value.toFixed(2)} ms`;

const label = `bench-router-${randomBytes(3).toString("hex")}`;
await ensureBaseImage(docker);
await ensureTestImages(docker);
const router = await startRouter({ host: "127.0.0.1", port: 0, logger: createLogger("warn") });
try {
  const port = await startRawHttpd(docker, testImages.httpd, label, label);
  await until(() => answers(port), 30_000, "the httpd answers");
  const hostname = "bench.router.test";
  router.apply({
    id: "bench-1",
    type: "container.started",
    data: {
      image_id: 1,
      instance_id: "bench",
      app_hostname: hostname,
      host: "127.0.0.1",
      host_port: port,
    },
  });
  // Warm up both paths.
  for (let index = 0; index < 50; index++) {
    await timedGet(port, hostname);
    await timedGet(router.port, hostname);
  }
  const direct: number[] = [];
  const routed: number[] = [];
  for (let index = 0; index < requests; index++) {
    direct.push(await timedGet(port, hostname));
    routed.push(await timedGet(router.port, hostname));
  }
  const [directP50, directP99, routedP50, routedP99] = [
    percentile(direct, 0.5),
    percentile(direct, 0.99),
    percentile(routed, 0.5),
    percentile(routed, 0.99),
  ] as [number, number, number, number];
  report("router", {
    requests,
    direct_p50: ms(directP50),
    direct_p99: ms(directP99),
    router_p50: ms(routedP50),
    router_p99: ms(routedP99),
    added_p50: ms(routedP50 - directP50),
    added_p99: ms(routedP99 - directP99),
    ratio_p50: (routedP50 / directP50).toFixed(2),
    ratio_p99: (routedP99 / directP99).toFixed(2),
  });
} finally {
  await router.close();
  await removeManagedContainers(label);
}
