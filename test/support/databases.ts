import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { postgresUrl } from "./services.ts";

/** A fresh, empty database on the test server; dropped by the returned function. */
export async function createScratchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const baseUrl = postgresUrl();
  const name = `orch_t_${randomBytes(5).toString("hex")}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      // Best effort: a scratch database left behind is harmless, a failed cleanup is not a
      // failed test (e.g. an autovacuum worker on it may not be ours to terminate).
      const client = postgres(baseUrl, { max: 1, onnotice: () => {} });
      try {
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            await client.unsafe(`drop database if exists ${name} with (force)`);
            return;
          } catch (error) {
            if (attempt === 2)
              console.warn(`[test] could not drop ${name}: ${(error as Error).message}`);
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
        }
      } finally {
        await client.end();
      }
    },
  };
}
