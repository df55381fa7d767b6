/**
 * `build: {args, target, platform, no_cache}` on the real engine, through BuildKit: a
 * Dockerfile with a build arg, `RUN --mount=type=cache` and stages builds the asked target from
 * a desired-state file and runs; a changed arg builds again (the cache mount kept what the
 * first build left); the export says it; bad values are problems that change nothing; a
 * heredoc is refused with the reason (the engine's frontend is Dockerfile 1.2).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliInProcess } from "../gitops/cli-harness.ts";
import { removeTree, tempTree } from "../gitops/temp-tree.ts";
import { httpGet } from "../support/docker-helpers.ts";
import { hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import type { TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { archiveOf, startBuildServer, uploadImage, waitForStatus } from "./build-support.ts";

/**
 * `build` makes the page from the arg and a counter kept in a cache mount; `runtime` serves it;
 * `broken` comes last and fails, so only a build of the target `runtime` succeeds.
 */
const dockerfile = [
  `FROM ${testImages.httpd} AS build`,
  "ARG GREETING=unset",
  `RUN --mount=type=cache,target=/cache sh -c 'n=$(cat /cache/count 2>/dev/null || echo 0); echo "$GREETING $n" > /page; echo $((n + 1)) > /cache/count'`,
  `FROM ${testImages.httpd} AS runtime`,
  "COPY --from=build /page /www/index.html",
  `CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]`,
  `FROM ${testImages.httpd} AS broken`,
  "RUN exit 7",
  "",
].join("\n");

const shopFile = (greeting: string) =>
  [
    "apiVersion: orchestrator/v1",
    "kind: Image",
    "metadata:",
    "  name: shop",
    "spec:",
    "  source: ./shop",
    "  tag: v1",
    "  desired_instances: 1",
    '  cpu_limit: "0.1"',
    "  memory_limit: 16m",
    "  build:",
    `    args: { GREETING: ${greeting} }`,
    "    target: runtime",
    "    platform: linux/amd64",
    "",
  ].join("\n");

describe.runIf(hasDocker())("build options through BuildKit", () => {
  let server: TestServer;
  let token: string;
  let env: Record<string, string>;
  let root: string;
  const cli = (...args: string[]) => cliInProcess(args, env);
  const call = (method: string, path: string, body?: unknown) =>
    server.request(method, path, { token, ...(body === undefined ? {} : { body }) });
  const shop = async () =>
    ((await call("GET", "/api/images")).body.items as any[]).find((image) => image.name === "shop");
  const served = async (imageId: number) => {
    const instances = (await call("GET", `/api/images/${imageId}/containers`)).body.items as any[];
    const running = instances.filter((instance) => instance.observed_state === "running");
    if (running.length !== 1 || running[0].host_port === null) return undefined;
    return (await httpGet(running[0].host_port)).body;
  };

  beforeAll(async () => {
    server = await startBuildServer();
    token = await server.createUser("builder");
    env = { ORCHESTRATOR_URL: server.url, ORCHESTRATOR_TOKEN: token };
    root = await tempTree({
      "apps/shop.yaml": shopFile("first"),
      "apps/shop/Dockerfile": dockerfile,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await removeTree(root);
  });

  it("builds the target with the arg and a cache mount from a file, runs it, and builds again when an arg changes", async () => {
    const applied = await cli("apply", "-f", join(root, "apps"), "--wait", "--timeout", "3m");
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    const image = await shop();
    expect(image.build).toEqual({
      args: { GREETING: "first" },
      target: "runtime",
      platform: "linux/amd64",
      no_cache: false,
    });
    expect(await served(image.id)).toBe("first 0\n");
    const logs = (await call("GET", `/api/images/${image.id}/build-logs`)).body.logs as string;
    // BuildKit's steps, as --progress=plain writes them; the broken stage never ran.
    expect(logs).toMatch(/#\d+ \[build 2\/2\] RUN --mount=type=cache,target=\/cache/);
    expect(logs).not.toContain("exit 7");

    // A new arg in the file: the image is built again (the cache mount kept the counter).
    await writeFile(join(root, "apps/shop.yaml"), shopFile("second"));
    const diff = await cli("diff", "-f", join(root, "apps"));
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain("build");
    const again = await cli("apply", "-f", join(root, "apps"), "--wait", "--timeout", "3m");
    expect(again.code).toBe(0);
    await waitFor(
      () => served(image.id),
      (body) => body === "second 1\n",
      { what: "the rebuilt page served", timeoutMs: 120_000 },
    );
    const events = (await call("GET", `/api/events?image_id=${image.id}&limit=1000`)).body
      .items as any[];
    expect(
      events.filter((event) => event.type === "image.building").map((event) => event.data.reason),
    ).toEqual(["source", "options_changed"]);
    expect((await cli("diff", "-f", join(root, "apps"))).stdout).toBe("No changes.\n");

    // no_cache changes how, not what: no new build by itself.
    const current = await shop();
    const noCache = await call("PATCH", `/api/images/${image.id}`, {
      build: { ...current.build, no_cache: true },
    });
    expect(noCache.status).toBe(200);
    expect(noCache.body.status).toBe("ready");

    const exported = join(root, "exported");
    expect((await cli("export", "--output-directory", exported)).code).toBe(0);
    const text = await readFile(join(exported, "shop.yaml"), "utf8");
    expect(text).toMatch(
      /build:\n\s+args:\n\s+GREETING: second\n\s+target: runtime\n\s+platform: linux\/amd64\n\s+no_cache: true/,
    );
  });

  it("refuses bad build options with the field's path, and changes nothing", async () => {
    const image = await shop();
    const cases: Array<[unknown, string]> = [
      [{ args: { BUILDKIT_SYNTAX: "docker/dockerfile:1.4" } }, "build.args.BUILDKIT_SYNTAX"],
      [{ args: { "1X": "y" } }, "build.args.1X"],
      [{ args: { A: ["list"] } }, "build.args.A"],
      [{ target: "-x" }, "build.target"],
      [{ platform: "amd64" }, "build.platform"],
      [{ no_cache: "yes" }, "build.no_cache"],
      [{ cache: true }, "build.cache"],
      ["fast", "build"],
    ];
    for (const [build, path] of cases) {
      const answer = await call("PATCH", `/api/images/${image.id}`, { build });
      expect(answer.status, JSON.stringify(build)).toBe(422);
      expect(answer.headers.get("content-type")).toBe("application/problem+json");
      expect(answer.body.errors.map((error: { path: string }) => error.path)).toContain(path);
    }
    expect((await shop()).resource_version).toBe(image.resource_version);

    // Only an image built from a source is built: a reference with build options is refused.
    const reference = await call("POST", "/api/images", {
      name: "ref",
      image: testImages.httpd,
      build: { args: { A: "1" } },
    });
    expect(reference.status).toBe(422);
    expect(reference.body.errors).toEqual([
      {
        path: "build",
        message: "applies only to an image built from a source (an upload, or source: in a file)",
      },
    ]);

    // In a file: the CLI names the line and column.
    const bad = await tempTree({
      "bad.yaml": shopFile("x").replace("platform: linux/amd64", "platform: amd64"),
    });
    try {
      const refused = await cli("diff", "-f", join(bad, "bad.yaml"));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/bad\.yaml:\d+:\d+.*platform/);
    } finally {
      await removeTree(bad);
    }
  });

  it("refuses a heredoc before building, saying the engine's frontend is Dockerfile 1.2", async () => {
    const archive = await archiveOf("tar", [
      {
        name: "Dockerfile",
        content: `FROM ${testImages.httpd}\nRUN <<EOF\necho hi > /www/index.html\nEOF\n`,
      },
    ]);
    const uploaded = await uploadImage(
      server,
      { name: "heredoc", memory_limit: "16m", cpu_limit: "0.1" },
      archive,
      { token, filename: "app.tar" },
    );
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(202);
    const failed = await waitForStatus(server, uploaded.body.id, "build_failed");
    expect(failed.build_logs).toContain(
      "Dockerfile line 2: heredocs (<<EOF) need Dockerfile syntax 1.4, and this engine's own Dockerfile frontend is 1.2",
    );
  });

  it("gives the build args to the upload form as JSON", async () => {
    const archive = await archiveOf("tar", [
      {
        name: "Dockerfile",
        content: `FROM ${testImages.httpd}\nARG PAGE\nRUN echo "$PAGE" > /www/index.html\n`,
      },
    ]);
    const uploaded = await uploadImage(
      server,
      {
        name: "form",
        memory_limit: "16m",
        cpu_limit: "0.1",
        build: JSON.stringify({ args: { PAGE: "from the form" }, no_cache: true }),
      },
      archive,
      { token, filename: "app.tar" },
    );
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(202);
    await waitForStatus(server, uploaded.body.id, "ready");
    await waitFor(
      () => served(uploaded.body.id),
      (body) => body === "from the form\n",
      { what: "the form's arg served", timeoutMs: 90_000 },
    );
  });
});
