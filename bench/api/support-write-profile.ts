/**
 * Where a PATCH's time goes, in-process (no HTTP, no controller), for bench/api: BENCH_WRITES
 * (1500) writes one after another, as the API makes them (the token's lookup, then
 * `images.patch` moving desired_instances between 1 and 2 on 32 images, half of them growing
 * and so quota-checked), each statement counted and timed by a kysely plugin (begin and commit
 * are the driver's, not counted). Prints, per statement, how many a write runs and their mean
 * time, then the totals. Not part of `npm run bench` (a tool, not a ratio):
 * `node bench/api/support-write-profile.ts [pglite|postgres]`.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KyselyPlugin } from "kysely";
import postgres from "postgres";
import { createTokensService } from "../../src/accounts/tokens-service.ts";
import { generateToken, hashToken } from "../../src/auth/tokens.ts";
import { loadConfig } from "../../src/config.ts";
import { createImageService } from "../../src/desired/image-service.ts";
import { newImageSchema } from "../../src/domain/image-spec.ts";
import { openStore, type StoreLocation, withQueryPlugin } from "../../src/store/database.ts";

const backend = process.argv[2] ?? "pglite";
const writes = Number(process.env.BENCH_WRITES ?? 1500);
const serverUrl =
  process.env.TEST_DATABASE_URL ??
  "postgres://orchestrator_test:orchestrator_test@127.0.0.1:5432/orchestrator_test";

const dataDir = await mkdtemp(path.join(tmpdir(), "orch-write-profile-"));
let location: StoreLocation = { kind: "pglite", dataDir: path.join(dataDir, "pglite") };
let drop = async () => {};
if (backend === "postgres") {
  const name = `orch_prof_${randomBytes(4).toString("hex")}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  location = { kind: "postgres", url: url.toString() };
  drop = async () => {
    const client = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await client.unsafe(`drop database if exists ${name} with (force)`);
    await client.end();
  };
}
const base = await openStore(location);
const timings = new Map<string, { count: number; ms: number }>();
const started = new Map<unknown, { label: string; at: number }>();
let recording = false;

/** A short name of a statement: its kind and table, or the head of its raw SQL. */
function labelOf(node: unknown): string {
  const text = JSON.stringify(node);
  const kind = (node as { kind: string }).kind;
  if (kind === "RawNode") {
    return `raw ${((node as { sqlFragments: string[] }).sqlFragments[0] ?? "").replace(/\s+/g, " ").slice(0, 60)}`;
  }
  const table = /"kind":"IdentifierNode","name":"([a-z_]+)"/.exec(text)?.[1] ?? "?";
  const locking = text.includes("SelectModifierNode") ? " (locking)" : "";
  const raw = /"sqlFragments":\["([^"]{0,40})/.exec(text)?.[1] ?? "";
  return `${kind} ${table}${locking} ${raw}`;
}

const plugin: KyselyPlugin = {
  transformQuery: (args) => {
    started.set(args.queryId, { label: labelOf(args.node), at: performance.now() });
    return args.node;
  },
  transformResult: async (args) => {
    const start = started.get(args.queryId);
    started.delete(args.queryId);
    if (recording && start !== undefined) {
      const entry = timings.get(start.label) ?? { count: 0, ms: 0 };
      entry.count += 1;
      entry.ms += performance.now() - start.at;
      timings.set(start.label, entry);
    }
    return args.result;
  },
};
const store = withQueryPlugin(base, plugin);
try {
  const config = loadConfig({ QUOTA_CPU: "256", QUOTA_MEMORY: "512g", QUOTA_INSTANCES: "1000" });
  const owner = await store.users.create("bench");
  const secret = generateToken();
  await store.tokens.create({
    userId: owner.id,
    name: "bench",
    scope: "write",
    expiresAt: null,
    tokenHash: hashToken(secret),
  });
  const tokens = createTokensService(store);
  const images = createImageService(store, {
    builtImagePrefix: "bench",
    adminUserId: 999,
    quota: { defaults: config.quota, unlimitedUsers: new Set() },
    maxInstancesCap: 100,
    orchestratorId: "prof",
  });
  const actor = { userId: owner.id, name: "bench", tokenId: null, tokenName: null };
  const ids: number[] = [];
  for (let index = 0; index < 32; index++) {
    const input = newImageSchema(100).parse({ name: `p-${index}`, desired_instances: 1 });
    const image = await images.create(
      owner.id,
      actor,
      { ...input, source_type: "upload" },
      "pending",
    );
    ids.push(image.id);
  }
  const scope = { userId: owner.id, actor };
  const once = async (n: number) => {
    await tokens.authenticate(secret);
    await images.patch(scope, ids[n % ids.length] as number, {
      desired_instances: Math.floor(n / ids.length) % 2 === 0 ? 2 : 1,
    });
  };
  for (let n = 0; n < 200; n++) await once(n);
  recording = true;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let n = 0; n < writes; n++) await once(n + 200);
  const total = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  recording = false;
  let statements = 0;
  let statementMs = 0;
  for (const [sql, entry] of [...timings].sort((a, b) => b[1].ms - a[1].ms)) {
    statements += entry.count;
    statementMs += entry.ms;
    console.log(
      `${(entry.count / writes).toFixed(2)}/write ${(entry.ms / entry.count).toFixed(3)} ms  ${sql}`,
    );
  }
  console.log(
    `${backend}: ${writes} sequential writes, ${(total / writes).toFixed(3)} ms each, ${(writes / (total / 1000)).toFixed(0)} writes/s, ${((cpu.user + cpu.system) / 1000 / writes).toFixed(3)} ms CPU (this process) each; ${(statements / writes).toFixed(2)} statements a write (+ begin/commit) taking ${(statementMs / writes).toFixed(3)} ms`,
  );
} finally {
  await store.close();
  await drop();
  await rm(dataDir, { recursive: true, force: true });
}
