/**
 * Text the service did not get from a client (build logs, container output, engine errors,
 * event data) may hold the NUL character, which Postgres stores in neither text nor jsonb: it is
 * removed on the way in, so the write (and the event with it) never fails. A build result the
 * database refuses for any reason is recorded as a failure after a few tries, never built again
 * and again. On both backends, on the real engine.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  archiveOf,
  eventsOf,
  getImage,
  instancesOf,
  startBuildServer,
  uploadImage,
  waitForStatus,
} from "../builds/build-support.ts";
import { testBaseImage } from "../support/base-image.ts";
import { backends } from "../support/services.ts";
import type { TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe.each(backends())("NUL in what the service writes, on %s", (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startBuildServer({ backend });
  });
  afterAll(() => server?.stop());

  it("removes it from event data and engine errors instead of failing the write", async () => {
    const store = server.service.store;
    const created = await server.request("POST", "/api/images", {
      body: { name: "quiet", image: "orchestrator-test/httpd:latest", desired_instances: 0 },
    });
    const imageId = created.body.id as number;
    await store.events.append([
      {
        type: "image.scaled",
        imageId,
        userId: 1,
        data: { reason: "x\u0000y", "k\u0000ey": "v" } as never,
      },
    ]);
    const [event] = (await server.request("GET", `/api/events?image_id=${imageId}`)).body.items;
    expect(event.data).toMatchObject({ reason: "xy", key: "v" });

    await store.instances.insert([
      { id: "nul0instance", image_id: imageId, user_id: 1, container_name: "quiet-nul0instance" },
    ]);
    await store.instances.patchObserved("nul0instance", {
      last_error: "engine said: a\u0000b",
      last_logs: "\u0000\u0000tail",
    });
    const row = await store.instances.find("nul0instance");
    expect(row).toMatchObject({ last_error: "engine said: ab", last_logs: "tail" });
  });

  it("removes it from build logs and container output on the real engine", async () => {
    const archive = await archiveOf("tar", [
      {
        name: "Dockerfile",
        content: `FROM ${testBaseImage}\nRUN printf 'before\\000after\\n'\nCMD ["sh", "-c", "printf 'boom\\\\000bang\\\\n'; exit 3"]\n`,
      },
    ]);
    const uploaded = await uploadImage(server, { name: "noisy", desired_instances: "1" }, archive, {
      filename: "app.tar",
    });
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(202);
    const ready = await waitForStatus(server, uploaded.body.id, "ready");
    expect(ready.build_logs).toContain("beforeafter");
    expect(ready.build_logs).not.toContain("\u0000");
    const [crashed] = await waitFor(
      () => instancesOf(server, uploaded.body.id),
      (items) => typeof items[0]?.last_logs === "string" && items[0].last_logs.includes("boom"),
      { timeoutMs: 90_000, what: "the crashed instance's last logs" },
    );
    expect(crashed.last_logs).toContain("boombang");
    expect(crashed.last_logs).not.toContain("\u0000");
  });

  it("fails a build whose result cannot be written, once, instead of building it again", async () => {
    const db = server.service.store.db;
    // One statement at a time: neither driver runs several in a prepared statement.
    await sql
      .raw(`create function refuse_poison() returns trigger language plpgsql as $$
        begin
          if new.build_logs like '%poison-marker%' then
            raise exception 'this log cannot be stored';
          end if;
          return new;
        end $$`)
      .execute(db);
    await sql
      .raw(`create trigger refuse_poison before update on images
          for each row execute function refuse_poison()`)
      .execute(db);
    try {
      const archive = await archiveOf("tar", [
        { name: "Dockerfile", content: `FROM ${testBaseImage}\nRUN echo poison-marker\n` },
      ]);
      const uploaded = await uploadImage(
        server,
        { name: "poisoned", desired_instances: "0" },
        archive,
        {
          filename: "app.tar",
        },
      );
      expect(uploaded.status).toBe(202);
      const failed = await waitForStatus(server, uploaded.body.id, "build_failed");
      expect(failed.build_logs).not.toContain("poison-marker");
      const logs = (await server.request("GET", `/api/images/${uploaded.body.id}/build-logs`)).body;
      expect(logs).toMatchObject({ status: "build_failed", failure_reason: "result_not_recorded" });
      expect(logs.error).toMatch(/could not be recorded: .*this log cannot be stored/);
      // The full log stays in its file.
      expect(logs.logs).toContain("poison-marker");
      // Reconciled again (a change of its desired state): still failed, and built only once.
      await server.request("PATCH", `/api/images/${uploaded.body.id}`, {
        body: { max_instances: 3 },
      });
      await waitFor(
        () => getImage(server, uploaded.body.id),
        (image) => image.observed_generation === image.generation,
        { what: "reconciled" },
      );
      expect((await getImage(server, uploaded.body.id)).status).toBe("build_failed");
      const types = (await eventsOf(server, uploaded.body.id)).map((event: any) => event.type);
      expect(types.filter((type: string) => type === "image.building")).toHaveLength(1);
      expect(types.filter((type: string) => type === "image.build_failed")).toHaveLength(1);
    } finally {
      await sql.raw("drop trigger refuse_poison on images").execute(db);
      await sql.raw("drop function refuse_poison()").execute(db);
    }
  });
});
