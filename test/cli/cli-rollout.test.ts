/**
 * `orchestrator rollout status|history|undo|pause|resume` through the real binary (its own
 * process) against a real server on the real engine: status exits 0 once a spec change has
 * converged (every instance on the current revision, ready), history lists the revisions, undo
 * returns to revision n-2 (the containers run its env, on the image the revision recorded),
 * pause/resume, bad input and another tenant. The exit-1 path of status (an
 * `image.rollout_failed` / `image.rolled_back` event) is decided by src/cli/rollout-verdict.ts
 * (unit tests); its end-to-end test needs the controller's automatic rollback.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliProcess } from "../gitops/cli-harness.ts";
import { docker, managedContainers } from "../support/docker-helpers.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

describe("orchestrator rollout", () => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  let configHome: string;
  let imageId: number;
  const envOf = (token: string) => ({
    ORCHESTRATOR_URL: server.url,
    ORCHESTRATOR_TOKEN: token,
    XDG_CONFIG_HOME: configHome,
  });
  const cli = (...args: string[]) => cliProcess(args, envOf(alice));

  /** The running containers of the image: their image id and MODE. */
  async function running() {
    const listed = await managedContainers(server.orchestratorId, imageId);
    const inspected = await Promise.all(
      listed
        .filter((container) => container.State === "running")
        .map((container) => docker.getContainer(container.Id).inspect()),
    );
    return inspected.map((container) => ({
      image: container.Image,
      mode: (container.Config.Env ?? []).find((entry) => entry.startsWith("MODE="))?.slice(5),
    }));
  }

  const patchEnv = async (mode: string) => {
    const changed = await server.request("PATCH", `/api/images/${imageId}`, {
      token: alice,
      body: { env: { MODE: mode } },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
  };

  beforeAll(async () => {
    server = await startTestServer({ env: { RATE_LIMIT_WRITES_PER_MINUTE: "100000" } });
    alice = await server.createUser("alice");
    bob = await server.createUser("bob");
    configHome = await mkdtemp(join(tmpdir(), "orchestrator-cli-rollout-"));
    const created = await server.request("POST", "/api/images", {
      token: alice,
      body: {
        name: "shop",
        image: testImages.httpd,
        desired_instances: 2,
        max_instances: 4,
        cpu_limit: "0.1",
        memory_limit: "16m",
        env: { MODE: "one" },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    imageId = created.body.id;
  });
  afterAll(async () => {
    await server?.stop();
    await rm(configHome, { recursive: true, force: true });
  });

  it("status exits 0 once every instance runs the current revision, after each change", async () => {
    const first = await cli("rollout", "status", "shop", "--timeout", "5m");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/image\/shop revision 1 successfully rolled out/);
    for (const mode of ["two", "three"]) {
      await patchEnv(mode);
      const status = await cli("rollout", "status", "shop", "--timeout", "5m");
      expect(status.code, status.stderr).toBe(0);
      // At its exit, both wanted instances run the new spec.
      const onRevision = (await running()).filter((container) => container.mode === mode);
      expect(onRevision).toHaveLength(2);
    }
  }, 900_000);

  it("history lists the revisions: number, cause, who, when, image id", async () => {
    const history = await cli("rollout", "history", "shop");
    expect(history.code, history.stderr).toBe(0);
    const lines = history.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^REVISION\s+CAUSE\s+BY\s+AGE\s+IMAGE ID\s+CREATED$/);
    expect(lines.slice(1).map((line) => line.split(/\s{3,}/).slice(0, 3))).toEqual([
      ["3 *", "image.update", "alice"],
      ["2", "image.update", "alice"],
      ["1", "image.create", "alice"],
    ]);
    const revisions = (await server.request("GET", `/api/images/${imageId}/revisions`)).body.items;
    const shortId = (revisions[2].docker_image_id as string).slice(7, 19);
    expect(lines[3]).toContain(shortId);
    const json = await cli("rollout", "history", "shop", "-o", "json");
    expect(
      json.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).revision),
    ).toEqual([3, 2, 1]);
  });

  it("undo --to-revision returns to revision n-2: its env, on the image it recorded", async () => {
    const revisions = (await server.request("GET", `/api/images/${imageId}/revisions`)).body.items;
    const first = revisions.find((revision: any) => revision.revision === 1);
    const undone = await cli("rollout", "undo", "shop", "--to-revision", "1");
    expect(undone.code, undone.stderr).toBe(0);
    expect(undone.stdout).toBe("image/shop rolled back: revision 4 (rollback to revision 1)\n");
    const status = await cli("rollout", "status", "shop", "--timeout", "5m");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/revision 4 successfully rolled out/);
    const onOld = (await running()).filter((container) => container.mode === "one");
    expect(onOld).toHaveLength(2);
    expect(onOld.map((container) => container.image)).toEqual([
      first.docker_image_id,
      first.docker_image_id,
    ]);
    const history = await cli("rollout", "history", "shop");
    expect(history.stdout).toMatch(/^4 \*\s+rollback to revision 1\s+alice\s/m);
  }, 900_000);

  it("pause and resume set and clear the switch, idempotently", async () => {
    for (const [verb, paused] of [
      ["pause", true],
      ["pause", true],
      ["resume", false],
      ["resume", false],
    ] as const) {
      const done = await cli("rollout", verb, "shop");
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toBe(`image/shop rollout ${paused ? "paused" : "resumed"}\n`);
      const image = (await server.request("GET", `/api/images/${imageId}`)).body;
      expect(image.rollout_paused).toBe(paused);
      const described = await cli("describe", "image", "shop");
      expect(described.stdout).toMatch(paused ? /^Rollout:\s+paused/m : /^Rollout:\s+active$/m);
    }
  });

  it("refuses bad input (exit 2) and an unknown revision (exit 1, the server's code)", async () => {
    for (const args of [
      ["rollout", "frobnicate", "shop"],
      ["rollout", "undo"],
      ["rollout", "undo", "shop", "--to-revision", "abc"],
      ["rollout", "history", "shop", "--to-revision", "1"],
      ["rollout", "status", "shop", "--timeout", "soon"],
    ]) {
      const refused = await cli(...args);
      expect(refused.code, args.join(" ")).toBe(2);
      expect(refused.stderr).not.toBe("");
    }
    const unknown = await cli("rollout", "undo", "shop", "--to-revision", "99");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/revision 99 not found .*\[404 revision_not_found\]/);
    const help = await cli("rollout", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /^Usage: orchestrator rollout status\|history\|undo\|pause\|resume IMAGE/,
    );
  });

  it("status of a rollout that cannot finish prints what it waits for and exits 1 at --timeout", async () => {
    // A reference the engine does not have and no registry gives: Degraded, never Ready; the
    // controller might still roll it back, so status waits until its timeout.
    const stuck = await server.request("POST", "/api/images", {
      token: alice,
      body: {
        name: "stuck",
        image: "orchestrator-test-missing-image:never",
        desired_instances: 1,
        pull_policy: "never",
      },
    });
    expect(stuck.status, JSON.stringify(stuck.body)).toBe(201);
    const status = await cli("rollout", "status", "stuck", "--timeout", "5s");
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^Waiting for rollout of image\/stuck to finish: /m);
    expect(status.stderr).toMatch(/timed out after 5s waiting for the rollout of image\/stuck/);
    expect(
      (await server.request("DELETE", `/api/images/${stuck.body.id}`, { token: alice })).status,
    ).toBe(202);
  });

  it("another tenant can neither see, undo nor pause the image", async () => {
    const before = (await server.request("GET", `/api/images/${imageId}/revisions`)).body.items;
    for (const verb of ["history", "undo", "pause", "status"]) {
      for (const name of ["shop", String(imageId)]) {
        const refused = await cliProcess(["rollout", verb, name], envOf(bob));
        expect(refused.code, `${verb} ${name}`).toBe(1);
        expect(refused.stderr).toMatch(new RegExp(`image ${name} not found`));
      }
    }
    const after = (await server.request("GET", `/api/images/${imageId}/revisions`)).body.items;
    expect(after).toEqual(before);
    const image = (await server.request("GET", `/api/images/${imageId}`)).body;
    expect(image.rollout_paused).toBe(false);
  });
});
