/**
 * What held requests cost the router: BENCH_HELD (8000) requests for a hostname scaled to zero
 * (`--wake`, the wake answering nothing) held at once, on a table of 1,200 ready instances of
 * 400 other images; prints the router's CPU over 5 s, with none held and with them all held.
 * No engine: the instances are only in the table. Run: `node bench/router/held.ts`.
 */
import http from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger } from "../../src/logger.ts";
import { startRouter } from "../../src/router/router.ts";

const heldCount = Number(process.env.BENCH_HELD ?? 8000);

const router = await startRouter({
  host: "127.0.0.1",
  port: 0,
  logger: createLogger("silent"),
  wake: { call: async () => {}, timeoutMs: 120_000 },
});
let eventId = 0;
for (let image = 1; image <= 400; image += 1) {
  for (let index = 0; index < 3; index += 1) {
    eventId += 1;
    router.apply({
      id: `event-${eventId}`,
      type: "container.started",
      data: {
        image_id: image,
        instance_id: `instance-${image}-${index}`,
        app_hostname: `app-${image}.test`,
        host: "127.0.0.1",
        host_port: 10_000 + eventId,
      },
    });
  }
}
router.apply({
  id: "event-sleeping",
  type: "container.created",
  data: { image_id: 999, instance_id: "sleeping", app_hostname: "sleeping.test", host_port: null },
});

/** The router's CPU over `ms`, in % of one core. */
async function cpuOver(ms: number): Promise<number> {
  const before = process.cpuUsage();
  const started = performance.now();
  await delay(ms);
  const used = process.cpuUsage(before);
  return ((used.user + used.system) / 1000 / (performance.now() - started)) * 100;
}

const idle = await cpuOver(5_000);
const agent = new http.Agent({ maxSockets: Number.POSITIVE_INFINITY });
const held: http.ClientRequest[] = [];
for (let index = 0; index < heldCount; index += 1) {
  const request = http.request({
    host: "127.0.0.1",
    port: router.port,
    path: "/",
    headers: { host: "sleeping.test" },
    agent,
  });
  request.on("error", () => {});
  request.end();
  held.push(request);
}
await delay(3_000);
const holding = await cpuOver(5_000);
console.log(
  `router CPU: ${idle.toFixed(1)}% of a core with nothing held, ${holding.toFixed(1)}% with ${heldCount} requests held`,
);
for (const request of held) request.destroy();
agent.destroy();
await router.close();
