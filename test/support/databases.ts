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
      const client = postgres(baseUrl, { max: 1, onnotice: () => {} });
      await client.unsafe(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
