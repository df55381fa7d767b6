import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createScratchDatabase } from "../support/databases.ts";
import { hostProcessesRunning, httpGet } from "../support/docker-helpers.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { backends, hasDocker } from "../support/services.ts";
import { apiCaller, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";
import { removeManagedContainers } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { archiveOf, removeBuiltImages, webApp } from "./build-support.ts";

type Stop = { readonly signal: "SIGKILL" | "SIGTERM"; readonly backend: "pglite" | "postgres" };

const stops: Stop[] = [
  ...backends().map((backend) => ({ signal: "SIGKILL" as const, backend })),
  { signal: "SIGTERM", backend: "pglite" },
];

describe.runIf(hasDocker()).each(stops)(
  "$signal in the middle of a build ($backend)",
  ({ signal, backend }) => {
    const orchestratorId = testOrchestratorId("rb");
    const cleanups: Array<() => Promise<void>> = [];
    afterAll(async () => {
      // The server first (it would recreate what we remove), then what it made.
      for (const cleanup of cleanups.reverse()) await cleanup();
      await removeManagedContainers(orchestratorId);
      await removeBuiltImages(orchestratorId);
    });

    it("loses nothing: the build starts again at the next start and the image runs", async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), "orch-build-restart-"));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const env: Record<string, string> = {
        DATA_DIR: dataDir,
        BUILD_CONTEXT_BASE_DIR: path.join(dataDir, "contexts"),
        ORCHESTRATOR_ID: orchestratorId,
        IMAGE_NAME_PREFIX: orchestratorId,
        LOG_LEVEL: "warn",
        STOP_TIMEOUT_SECONDS: "1",
      };
      if (backend === "postgres") {
        const database = await createScratchDatabase();
        cleanups.push(database.drop);
        env.DATABASE_URL = database.url;
      }
      let server: SpawnedServer = await spawnServer(env);
      cleanups.push(async () => {
        server.kill("SIGKILL");
        await server.exited;
      });
      const token = (await readFile(path.join(dataDir, "admin-token"), "utf8")).trim();
      const call = apiCaller(() => server.url, token);

      // A step no earlier run has cached, slow enough to be caught in the middle.
      const nonce = randomBytes(4).toString("hex");
      const form = new FormData();
      form.append("name", "interrupted");
      form.append("desired_instances", "1");
      form.append(
        "file",
        new Blob([
          new Uint8Array(
            await archiveOf(
              "tar.gz",
              webApp(`survived ${nonce}\n`, `RUN echo ${nonce} && sleep 4\n`),
            ),
          ),
        ]),
        "app.tar.gz",
      );
      const uploaded = await fetch(`${server.url}/api/images`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      expect(uploaded.status).toBe(202);
      const imageId = ((await uploaded.json()) as any).id as number;
      await waitFor(
        async () => (await call("GET", `/api/images/${imageId}/build-logs`)).body.logs as string,
        (logs) => logs.includes(`${nonce}\n`),
        { what: "the slow step running", timeoutMs: 30_000 },
      );

      server.kill(signal);
      const exit = await server.exited;
      expect(signal === "SIGKILL" ? exit.signal : exit.code).toBe(
        signal === "SIGKILL" ? "SIGKILL" : 0,
      );
      // The engine drops a build whose client went away: the RUN step's process ends.
      await waitFor(
        () => hostProcessesRunning(nonce),
        (processes) => processes.length === 0,
        { what: "the interrupted RUN step gone", timeoutMs: 30_000 },
      );

      server = await spawnServer(env);
      const image = await waitFor(
        async () => (await call("GET", `/api/images/${imageId}`)).body,
        (body) => body.status === "ready" || body.status === "build_failed",
        { what: "the build finished after the restart", timeoutMs: 90_000 },
      );
      expect(image.status, image.build_logs).toBe("ready");
      const instance = await waitFor(
        async () => (await call("GET", `/api/images/${imageId}/containers`)).body.items[0],
        (item) => item?.observed_state === "running" && item.host_port !== null,
        { what: "its instance running", timeoutMs: 60_000 },
      );
      expect(await httpGet(instance.host_port)).toEqual({
        status: 200,
        body: `survived ${nonce}\n`,
      });

      const events = (await call("GET", `/api/events?image_id=${imageId}`)).body.items as any[];
      const build = events.filter((event) => event.type.startsWith("image."));
      expect(build.map((event) => [event.type, event.data.reason])).toEqual([
        ["image.building", "upload"],
        ["image.building", "resumed"],
        ["image.ready", "built"],
      ]);
    });
  },
);
