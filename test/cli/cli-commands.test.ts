/**
 * The day-to-day commands through the real binary (`bin/orchestrator.js`, its own process)
 * against a real server on the real engine: version, describe, logs (-f), events (-w), scale,
 * start/stop/restart, top, contexts, completion, and the exit codes.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageVersion } from "../../src/package-version.ts";
import { cliProcess } from "../gitops/cli-harness.ts";
import { docker, execIn } from "../support/docker-helpers.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { cliFollowing } from "./cli-process.ts";

describe("orchestrator logs, events, describe, scale, start/stop/restart, top, version, context", () => {
  let server: TestServer;
  let token: string;
  let env: Record<string, string>;
  let configHome: string;
  let imageId: number;
  const cli = (...args: string[]) => cliProcess(args, env);
  const instances = async () =>
    (await server.request("GET", `/api/images/${imageId}/containers`, { token })).body
      .items as any[];
  const running = async (count: number) =>
    waitFor(
      instances,
      (items) =>
        items.filter((item) => item.observed_state === "running" && item.container_id !== null)
          .length === count && items.length === count,
      { timeoutMs: 90_000, what: `${count} running instances` },
    );
  /** Writes a line to a container's output, as its main process would. */
  const say = (containerId: string, text: string) =>
    execIn(containerId, ["sh", "-c", `echo ${text} > /proc/1/fd/1`]);

  beforeAll(async () => {
    server = await startTestServer({ env: { HEALTH_INTERVAL_SECONDS: "1" } });
    token = await server.createUser("cleo");
    configHome = await mkdtemp(join(tmpdir(), "orchestrator-cli-config-"));
    env = { ORCHESTRATOR_URL: server.url, ORCHESTRATOR_TOKEN: token, XDG_CONFIG_HOME: configHome };
    const created = await server.request("POST", "/api/images", {
      token,
      body: {
        name: "web",
        image: testImages.httpd,
        desired_instances: 2,
        max_instances: 3,
        cpu_limit: "0.1",
        memory_limit: "16m",
      },
    });
    expect(created.status).toBe(201);
    imageId = created.body.id;
    await running(2);
  });
  afterAll(async () => {
    await server?.stop();
    await rm(configHome, { recursive: true, force: true });
  });

  it("version prints the client's and the server's versions", async () => {
    const table = await cli("version");
    expect(table.code).toBe(0);
    expect(table.stdout).toBe(
      `Client Version: ${packageVersion()}\nServer Version: ${packageVersion()} (API 1.0.0, Node ${process.version})\n`,
    );
    const json = JSON.parse((await cli("version", "-o", "json")).stdout);
    expect(json).toMatchObject({
      client: { version: packageVersion() },
      server: { version: packageVersion(), api_version: "1.0.0" },
    });
  });

  it("describe shows an image's spec, conditions, instances and events, and a container", async () => {
    // Both instances run (beforeAll); their started events are in the log.
    const image = await waitFor(
      () => cli("describe", "image", "web"),
      (result) => (result.stdout.match(/container\.started/g) ?? []).length === 2,
      { timeoutMs: 60_000, what: "the image with its events" },
    );
    expect(image.code).toBe(0);
    expect(image.stdout).toMatch(/\n {2}Ready\s+(True|False)\s+\S+/);
    expect(image.stdout).toMatch(/^Name:\s+web\n/);
    expect(image.stdout).toMatch(/\nSource:\s+orchestrator-test\/httpd:latest\n/);
    expect(image.stdout).toMatch(/Spec:\n(.*\n)*\s+desired_instances:\s+2\n/);
    expect(image.stdout).toMatch(/\nConditions:\n\s+TYPE\s+STATUS\s+REASON/);
    const [first] = await instances();
    expect(image.stdout).toMatch(
      new RegExp(`\\n\\s+${first.id.slice(0, 12)}\\s+${first.name}\\s+running\\s+running`),
    );
    expect(image.stdout).toMatch(/\nEvents:\n\s+AGE\s+TYPE\s+OBJECT\s+DETAIL\n/);

    const container = await cli("describe", "container", first.name);
    expect(container.code).toBe(0);
    expect(container.stdout).toMatch(new RegExp(`^Name:\\s+${first.name}\\n`));
    expect(container.stdout).toMatch(/\nState:\s+running\n/);
    expect(container.stdout).toMatch(/\nImage:\s+web\n/);
    expect(container.stdout).toContain(`container/${first.name}`);

    const missing = await cli("describe", "image", "nope");
    expect(missing).toMatchObject({
      code: 1,
      stdout: "",
      stderr: "orchestrator: image nope not found\n",
    });
    expect((await cli("describe", "pod", "web")).code).toBe(2);
  });

  it("logs prints every instance of an image with a prefix, or one instance alone", async () => {
    const items = await instances();
    for (const item of items) await say(item.container_id, `hello-from-${item.id}`);
    const all = await waitFor(
      () => cli("logs", "web"),
      (result) => items.every((item) => result.stdout.includes(`hello-from-${item.id}`)),
      { timeoutMs: 30_000, what: "both lines" },
    );
    expect(all.code).toBe(0);
    for (const item of items) {
      expect(all.stdout).toContain(`[${item.name}] hello-from-${item.id}\n`);
    }
    const [first] = items;
    const one = await cli("logs", first.name, "--tail", "1");
    expect(one).toMatchObject({ code: 0, stdout: `hello-from-${first.id}\n` });
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await cli("logs", "web", "--since", future)).stdout).toBe("");
    expect((await cli("logs", "nothing-here")).code).toBe(1);
    expect((await cli("logs", "web", "--since", "yesterday")).code).toBe(2);
  });

  it("logs -f prints a line written after it started", async () => {
    const [first] = await instances();
    await say(first.container_id, "before-follow");
    const following = cliFollowing(["logs", "-f", "web"], env);
    try {
      await following.until(`[${first.name}] before-follow`);
      await say(first.container_id, "after-follow");
      await following.until(`[${first.name}] after-follow\n`);
    } finally {
      expect((await following.stop()).code).toBe(0);
    }
  });

  it("logs -f IMAGE follows the instances that start after it (a scale-up, a replacement), prefixed", async () => {
    const before = await instances();
    const [first] = before;
    const following = cliFollowing(["logs", "-f", "web"], env);
    try {
      // The instances of the start are followed first: the scale-up comes after.
      await say(first.container_id, "before-scale-up");
      await following.until(`[${first.name}] before-scale-up\n`);
      expect((await cli("scale", "web", "--instances", "3")).code).toBe(0);
      const added = (await running(3)).find(
        (item) => !before.some((earlier: any) => earlier.id === item.id),
      );
      await say(added.container_id, "from-the-new-instance");
      await following.until(`[${added.name}] from-the-new-instance\n`);
      await say(first.container_id, "still-the-first");
      await following.until(`[${first.name}] still-the-first\n`);

      // A container removed behind the controller's back is replaced: the new one is followed.
      await docker.getContainer(added.container_id).remove({ force: true });
      const replaced = await waitFor(
        instances,
        (items) =>
          items.some(
            (item) =>
              item.observed_state === "running" &&
              item.container_id !== null &&
              item.container_id !== added.container_id &&
              !before.some((earlier: any) => earlier.id === item.id),
          ),
        { timeoutMs: 90_000, what: "the removed container replaced" },
      );
      const replacement = replaced.find(
        (item) =>
          item.observed_state === "running" &&
          item.container_id !== added.container_id &&
          !before.some((earlier: any) => earlier.id === item.id),
      );
      await say(replacement.container_id, "from-the-replacement");
      await following.until(`[${replacement.name}] from-the-replacement\n`);
    } finally {
      expect((await following.stop()).code).toBe(0);
    }
    expect((await cli("scale", "web", "--instances", "2")).code).toBe(0);
    await running(2);
  });

  it("events -w prints the scale that happens while it watches; scale changes desired_instances", async () => {
    const watching = cliFollowing(["events", "-w", "--image", "web"], env);
    try {
      await watching.until("container.started");
      const scaled = await cli("scale", "web", "--instances", "3");
      expect(scaled).toMatchObject({ code: 0, stdout: "image/web scaled to 3\n" });
      await watching.until(/image\.scaled {2}image\/web {2}.*desired 3/);
    } finally {
      expect((await watching.stop()).code).toBe(0);
    }
    await running(3);
    const refused = await cli("scale", "web", "--instances", "9");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^orchestrator: .*max_instances/);
    expect((await cli("scale", "nope", "--instances", "1")).code).toBe(1);
    expect((await cli("scale", "web")).code).toBe(2);

    const json = await cli("events", "--image", "web", "--type", "image.scaled", "-o", "json");
    const lines = json.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.at(-1)).toMatchObject({ type: "image.scaled", image_id: imageId });
    expect((await cli("events", "--type", "nonsense")).code).toBe(2);
    await cli("scale", "web", "--instances", "2");
    await running(2);
  });

  it("stop, start and restart change one instance", async () => {
    const [first] = await instances();
    const stopped = await cli("stop", first.name);
    expect(stopped).toMatchObject({ code: 0, stdout: `container/${first.name} stopped\n` });
    await waitFor(
      () => server.request("GET", `/api/containers/${first.id}`, { token }),
      (answer) => answer.body.observed_state === "stopped",
      { timeoutMs: 60_000, what: "the instance stopped" },
    );
    expect((await cli("start", first.id.slice(0, 8))).stdout).toBe(
      `container/${first.name} started\n`,
    );
    await waitFor(
      () => server.request("GET", `/api/containers/${first.id}`, { token }),
      (answer) => answer.body.observed_state === "running",
      { timeoutMs: 60_000, what: "the instance running again" },
    );
    const restarted = await cli("restart", first.name);
    expect(restarted).toMatchObject({ code: 0, stdout: `container/${first.name} restarted\n` });
    expect((await cli("stop", "no-such-instance")).code).toBe(1);
    expect((await cli("restart")).code).toBe(2);
  });

  it("top shows CPU and memory from the samples", async () => {
    const result = await waitFor(
      () => cli("top", "web"),
      (answer) => (answer.stdout.match(/\s\d+\.\d%\s+\d+\.\d%\s/g) ?? []).length >= 1,
      { timeoutMs: 60_000, what: "a sampled instance" },
    );
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[0]).toMatch(
      /^NAME\s+IMAGE\s+CPU\s+MEMORY\s+MEMORY BYTES\s+STATUS\s+SAMPLED$/,
    );
    expect(result.stdout).toMatch(/\sweb\s+\d+\.\d%/);
    expect((await cli("top", "nope")).code).toBe(1);
  });

  // Some fifteen runs of the binary, each a Node start: minutes on two busy cores.
  it("context set, use and list keep the server and token in a 0600 file; env and flags win", async () => {
    const bare = { XDG_CONFIG_HOME: configHome, DATA_DIR: join(configHome, "no-data") };
    const set = await cliProcess(
      ["context", "set", "here", "--server", server.url, "--token", token],
      bare,
    );
    expect(set).toMatchObject({ code: 0, stdout: "context here created (current)\n" });
    const file = join(configHome, "orchestrator", "config.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
      current_context: "here",
      contexts: { here: { server: server.url, token } },
    });
    await cliProcess(
      ["context", "set", "nowhere", "--server", "http://127.0.0.1:9", "--token", "orc_other"],
      bare,
    );
    const list = await cliProcess(["context", "list"], bare);
    expect(list.stdout).toMatch(
      /^CURRENT\s+NAME\s+SERVER\s+TOKEN\n\*\s+here\s+\S+\s+yes\n\s+nowhere\s+http:\/\/127\.0\.0\.1:9\s+yes\n$/,
    );
    expect(list.stdout).not.toContain(token);

    // The saved context reaches the server with its token.
    expect((await cliProcess(["get", "images", "web"], bare)).code).toBe(0);
    // The environment wins over the context, and a flag over the environment; the context's
    // token never goes to a server other than the context's.
    const otherServer = await cliProcess(["get", "images"], {
      ...bare,
      ORCHESTRATOR_URL: "http://127.0.0.1:9",
    });
    expect(otherServer.code).toBe(2);
    expect(otherServer.stderr).toMatch(/^orchestrator: no token: pass --token/);
    const envWins = await cliProcess(["get", "images"], {
      ...bare,
      ORCHESTRATOR_URL: "http://127.0.0.1:9",
      ORCHESTRATOR_TOKEN: token,
    });
    expect(envWins.code).toBe(1);
    expect(envWins.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
    const flagWins = await cliProcess(
      ["get", "images", "web", "--server", server.url, "--token", token],
      {
        ...bare,
        ORCHESTRATOR_URL: "http://127.0.0.1:9",
      },
    );
    expect(flagWins.code).toBe(0);
    const wrongToken = await cliProcess(["get", "images", "--token", "orc_wrong"], bare);
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toMatch(/\(401\)/);

    expect((await cliProcess(["context", "use", "nowhere"], bare)).stdout).toBe(
      "switched to context nowhere\n",
    );
    expect((await cliProcess(["get", "images"], bare)).code).toBe(1);
    expect((await cliProcess(["get", "images", "--context", "here"], bare)).code).toBe(0);
    expect((await cliProcess(["context", "use", "missing"], bare)).code).toBe(1);
    expect((await cliProcess(["context", "delete", "nowhere"], bare)).code).toBe(0);
    expect(JSON.parse(await readFile(file, "utf8")).current_context).toBeNull();
  }, 300_000);

  it("completion bash completes commands and flags in a real bash", async () => {
    const script = await cli("completion", "bash");
    expect(script.code).toBe(0);
    const completes = (words: string[]) =>
      execFileSync(
        "bash",
        [
          "-c",
          `${script.stdout}\nCOMP_WORDS=(${words.map((word) => `'${word}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _orchestrator; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: "utf8" },
      ).trim();
    expect(completes(["orchestrator", "sc"])).toBe("scale");
    expect(completes(["orchestrator", "events", "--ima"])).toBe("--image");
    expect((await cli("completion", "zsh")).stdout).toMatch(/^#compdef orchestrator\n/);
    expect((await cli("completion", "fish")).stdout).toContain("complete -c orchestrator");
    expect((await cli("completion")).code).toBe(2);
  });
});
