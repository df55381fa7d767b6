/**
 * A database that cannot be reached is a 503 the client may retry, never a 500: the errors the
 * driver really raises when the server refuses connections or ends our session become the
 * `unavailable` problem. (An end-to-end outage of a running service is issue 13's fault suite:
 * postgres.js 3.4.9 can crash or hang on a connection lost mid-use, porsager/postgres#1208.)
 */
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { toProblem } from "../../src/api/error-mapping.ts";
import { backends, postgresUrl } from "../support/services.ts";
import { freePort } from "../support/spawn-server.ts";
import { waitFor } from "../support/wait.ts";

describe.runIf(backends().includes("postgres"))("database errors as problems", () => {
  const clients: postgres.Sql[] = [];
  const client = (url: string) => {
    const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
    clients.push(sql);
    return sql;
  };
  afterAll(async () => {
    await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })));
  });

  it("a server that refuses connections is 503 unavailable", async () => {
    const closed = new URL(postgresUrl());
    closed.port = String(await freePort());
    const error = await client(closed.toString())`select 1`.catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe("ECONNREFUSED");
    expect(toProblem(error)).toMatchObject({ code: "unavailable", status: 503 });
  });

  it("a session the server ends is 503 unavailable", async () => {
    const victim = client(postgresUrl());
    const [row] = await victim<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const pid = row?.pid ?? 0;
    const running = victim`select pg_sleep(30)`.catch((caught: unknown) => caught);
    const admin = client(postgresUrl());
    await waitFor(
      async () =>
        (await admin`select 1 from pg_stat_activity where pid = ${pid} and query like '%pg_sleep%'`)
          .length,
      (found) => found === 1,
      { what: "the query to run" },
    );
    await admin`select pg_terminate_backend(${pid})`;
    const error = await running;
    // The driver reports the server's 57P01 or the closed socket, whichever it reads first.
    expect(["57P01", "CONNECTION_CLOSED"]).toContain((error as { code?: string }).code);
    expect(toProblem(error)).toMatchObject({ code: "unavailable", status: 503 });
  });

  it("a query that is wrong stays a bug (not a 503)", async () => {
    const error = await client(postgresUrl())`select * from no_such_table`.catch(
      (caught: unknown) => caught,
    );
    expect(toProblem(error)).toBeUndefined();
  });
});
