/**
 * The baseline of bench/api: a bare hono route on @hono/node-server, in its own process as the
 * service is: `node support-bare-server.ts PORT`. It answers GET and PATCH with a small JSON
 * body; what the service does beyond this is what the benchmark measures.
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const port = Number(process.argv[2]);
const app = new Hono();
const body = { id: 1, name: "bare", desired_instances: 1, status: "ready" };
app.get("/api/images/:id", (c) => c.json(body));
app.patch("/api/images/:id", async (c) => c.json({ ...body, ...(await c.req.json()) }));
serve({ fetch: app.fetch, hostname: "127.0.0.1", port }, () => {
  process.stdout.write("listening\n");
});
