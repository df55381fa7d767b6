/**
 * The floor of bench/api's writes: what this machine does for an HTTP write that commits one row
 * through the same stack (hono on @hono/node-server, the store's kysely on postgres.js or
 * PGlite), and nothing else: no token, no transaction, no check, no event, no audit, no
 * controller. `node support-floor-server.ts PORT LOCATION_JSON`, in its own process as the
 * service is. PATCH /api/images/{id} sets desired_instances in one UPDATE that also bumps the
 * versions and NOTIFYs, as the service's own write does; GET reads the row. No orchestrator can
 * go faster than this on the same machine: the service's writes are printed as a share of it.
 * (A bench baseline, deliberately not the service's code: it speaks SQL itself.)
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { sql } from "kysely";
import { openStore, type StoreLocation } from "../../src/store/database.ts";

const port = Number(process.argv[2]);
const location = JSON.parse(process.argv[3] ?? "{}") as StoreLocation;
const store = await openStore(location);
const app = new Hono();
const idOf = (value: string) => Number(value);
app.get("/api/images/:id", async (c) =>
  c.json(
    await store.db
      .selectFrom("images")
      .selectAll()
      .where("id", "=", idOf(c.req.param("id")))
      .executeTakeFirstOrThrow(),
  ),
);
app.patch("/api/images/:id", async (c) => {
  const { desired_instances } = (await c.req.json()) as { desired_instances: number };
  const row = await store.db
    .updateTable("images")
    .set({
      desired_instances,
      generation: sql<number>`generation + 1`,
      resource_version: sql<number>`resource_version + 1`,
      updated_at: sql<Date>`now()`,
    })
    .where("id", "=", idOf(c.req.param("id")))
    .returningAll()
    .returning(sql<string>`pg_notify('bench_floor', id::text)`.as("notified"))
    .executeTakeFirstOrThrow();
  return c.json(row);
});
const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port }, () => {
  process.stdout.write("listening\n");
});
process.once("SIGTERM", () => {
  server.close();
  void store.close();
});
