import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * postgres.js 3.4.9 crashes the process (an uncaught TypeError from a timer), leaves a connection
 * unable to write ever again when it closes while a small write is queued, and puts a reserved
 * connection that died back among the open ones (kysely-postgres-js reserves one per query), so
 * that every later query fails: exactly what a Postgres restart or pg_terminate_backend does
 * (upstream issues #1154, #1208). It also strands a reserve waiting on a connection that closes
 * (#1195), lets a stale reservation write onto its reconnected connection, fails the next
 * session's first query with the old session's FATAL error, leaves queries written between
 * a socket error and its close pending for ever, and lets a reserve whose connection attempt
 * failed (the server away) swallow the next connection that opens. A new connection whose own
 * array-types query fails (its session ended as it starts) ends the process with an unhandled
 * rejection (#1192, #1223). patches/postgres+3.4.9.patch fixes them all;
 * `npm ci` applies it (postinstall: patch-package). test/foundation/postgres-driver.test.ts
 * checks the behaviour on the real server.
 */
describe("the Postgres driver", () => {
  // src/index.js of the package, as `import "postgres"` finds it.
  const root = path.dirname(path.dirname(fileURLToPath(import.meta.resolve("postgres"))));
  const version = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).version;

  it("is the version the patch was written for", () => {
    expect(version).toBe("3.4.9");
  });

  it.each(["src", "cjs/src"])("carries the patch in %s", (folder) => {
    const connection = readFileSync(path.join(root, folder, "connection.js"), "utf8");
    expect(connection).toMatch(/if \(socket === null\) \{/);
    expect(connection.match(/chunk = nextWriteTimer = null \/\/ patched/g)).toHaveLength(2);
    expect(connection).toContain("return fetchArrayTypes().catch(() => {})");
    const pool = readFileSync(path.join(root, folder, "index.js"), "utf8");
    expect(pool).toContain("if (c.reserved !== reservation)");
    expect(pool).toContain("next.reserve && queries.push(next)");
    expect(pool).toContain("reject: (e) => (queries.remove(query), reject(e))");
  });
});
