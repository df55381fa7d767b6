import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ContractViolation } from "../../src/api/openapi/response-check.ts";
import { type Service, startService } from "../../src/composition-root.ts";
import { loadConfig } from "../../src/config.ts";
import { connectDocker } from "../../src/docker/connection.ts";
import { createLogger, type Logger } from "../../src/logger.ts";
import { createScratchDatabase } from "./databases.ts";
import { refusedEmptyNetwork } from "./leftovers.ts";
import { recordRefusedNetwork, testOrchestratorId } from "./run-id.ts";
import type { Backend } from "./services.ts";

export type TestServer = {
  readonly url: string;
  readonly adminToken: string;
  readonly orchestratorId: string;
  readonly dataDir: string;
  /** The Postgres database it runs on; undefined on PGlite. */
  readonly databaseUrl: string | undefined;
  readonly service: Service;
  /** Calls the API with a token (the admin token by default); JSON in, parsed JSON out. */
  request(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: any }>;
  /** Creates a user through the API (the admin's POST /api/users) and returns a write token. */
  createUser(name: string): Promise<string>;
  stop(): Promise<void>;
};

export type TestServerOptions = {
  readonly backend?: Backend;
  readonly env?: Readonly<Record<string, string>>;
  /** Reuse a data folder / database (to test restarts); otherwise fresh ones are made. */
  readonly dataDir?: string;
  readonly databaseUrl?: string;
  readonly orchestratorId?: string;
  /** Where the service logs (e.g. a captured logger); TEST_LOG_LEVEL to stdout otherwise. */
  readonly logger?: Logger;
};

/** Starts the real service in this process on a free port, against PGlite or a scratch database. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), "orch-test-")));
  const orchestratorId = options.orchestratorId ?? testOrchestratorId("test");
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
  let databaseUrl = options.databaseUrl;
  if (options.backend === "postgres" && databaseUrl === undefined) {
    scratch = await createScratchDatabase();
    databaseUrl = scratch.url;
  }
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    ORCHESTRATOR_ID: orchestratorId,
    // Built tags are per server, so that suites running side by side never share one.
    IMAGE_NAME_PREFIX: orchestratorId.toLowerCase().replace(/[^a-z0-9-]/g, "-"),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    BUILD_CONTEXT_BASE_DIR: path.join(dataDir, "build-contexts"),
    // busybox httpd ignores SIGTERM as PID 1: do not wait 10 s for every stop in tests.
    STOP_TIMEOUT_SECONDS: "1",
    // What an operator allows tenants to run from the engine's own images: the test apps.
    ALLOWED_LOCAL_IMAGES: "orchestrator-test/*",
    // The engine the suite itself talks to.
    ...(process.env.DOCKER_HOST === undefined ? {} : { DOCKER_HOST: process.env.DOCKER_HOST }),
    ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }),
    ...options.env,
  });
  // Every answer is compared with the OpenAPI document; a difference fails the suite at stop.
  const violations: ContractViolation[] = [];
  const service = await startService(config, options.logger ?? createLogger(config.logLevel), {
    onContractViolation: (violation) => violations.push(violation),
  });
  const adminToken = service.adminToken.token;

  const request: TestServer["request"] = async (method, urlPath, requestOptions = {}) => {
    const token = requestOptions.token === undefined ? adminToken : requestOptions.token;
    const response = await fetch(`${service.url}${urlPath}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(requestOptions.body === undefined ? {} : { "content-type": "application/json" }),
        ...requestOptions.headers,
      },
      ...(requestOptions.body === undefined ? {} : { body: JSON.stringify(requestOptions.body) }),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body };
  };

  let stopped = false;
  return {
    url: service.url,
    adminToken,
    orchestratorId,
    dataDir,
    databaseUrl,
    service,
    request,
    createUser: async (name) => {
      const user = await request("POST", "/api/users", { body: { name } });
      if (user.status !== 201) throw new Error(`createUser: ${JSON.stringify(user.body)}`);
      const response = await request("POST", "/api/tokens", { body: { user: name } });
      if (response.status !== 201) throw new Error(`createUser: ${JSON.stringify(response.body)}`);
      return response.body.token as string;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await service.stop();
      await removeManagedContainers(orchestratorId);
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
      await scratch?.drop();
      if (violations.length > 0) {
        throw new Error(
          `answers differ from the OpenAPI document:\n${violations
            .slice(0, 20)
            .map(
              (v) =>
                `${v.route} ${v.status}: ${v.problem}${v.body === undefined ? "" : `\n  ${JSON.stringify(v.body).slice(0, 600)}`}`,
            )
            .join("\n")}`,
        );
      }
    },
  };
}

/**
 * Removes every container, network, built image and volume labelled managed-by=<id>: what a
 * suite leaves behind (the service never removes volumes by itself).
 */
export async function removeManagedContainers(orchestratorId: string): Promise<void> {
  const docker = connectDocker(process.env.DOCKER_HOST);
  try {
    const filters = { label: [`managed-by=${orchestratorId}`] };
    const removeAll = (removals: ReadonlyArray<Promise<unknown>>) =>
      Promise.all(removals.map((removal) => removal.catch(() => {})));
    // Swarm services first (RUNTIME=swarm): they would make their tasks' containers again.
    // An engine outside a swarm refuses the list (503): nothing to remove.
    const services = await docker.listServices({ filters }).catch(() => []);
    await removeAll(services.map((service) => docker.getService(service.ID as string).remove()));
    // Until two listings a moment apart find neither containers nor networks: a create the
    // engine was still running for a server just stopped or killed lands after the first
    // listing (a container left "created", or a tenant network: one was left in a CI run).
    // Containers go first: the engine refuses to remove a network a container is on.
    let emptyListings = 0;
    for (let round = 0; round < 40 && emptyListings < 2; round += 1) {
      const containers = await docker.listContainers({ all: true, filters });
      await removeAll(
        containers.map((container) => docker.getContainer(container.Id).remove({ force: true })),
      );
      const networks = await docker.listNetworks({ filters });
      await removeAll(networks.map((network) => docker.getNetwork(network.Id).remove()));
      emptyListings = containers.length + networks.length === 0 ? emptyListings + 1 : 0;
      if (emptyListings < 2) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // Still there: tried once more (refusedEmptyNetwork, as the teardown does). One refused for
    // endpoints the engine counts with no container on it (moby #42119) stays until the engine
    // restarts: the teardown must know it for that.
    const left = emptyListings < 2 ? await docker.listNetworks({ filters }) : [];
    for (const network of left) {
      const refusal = await refusedEmptyNetwork(docker, network.Id);
      if (refusal !== undefined) recordRefusedNetwork(network.Name, refusal);
    }
    await removeAll(
      (await docker.listImages({ filters })).map((image) =>
        docker.getImage(image.Id).remove({ force: true }),
      ),
    );
    // Volumes last: the engine refuses to remove one a container still mounts.
    await removeAll(
      ((await docker.listVolumes({ filters })).Volumes ?? []).map((volume) =>
        docker.getVolume(volume.Name).remove(),
      ),
    );
  } catch {
    // no engine: nothing to clean
  }
}
