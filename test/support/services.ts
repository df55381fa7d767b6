import { inject } from "vitest";
import type { TestServices } from "./global-setup.ts";

/** The services found by the global setup (CI=true has already failed when one is missing). */
export function services(): TestServices {
  return inject("services");
}

export type Backend = "pglite" | "postgres";

/** Database backends to run a suite against: always PGlite, and the server when there is one. */
export function backends(): Backend[] {
  return services().postgres.ok ? ["pglite", "postgres"] : ["pglite"];
}

export function hasDocker(): boolean {
  return services().docker.ok;
}

export function hasKafkaMock(): boolean {
  return services().kafkaMock.ok;
}

export function postgresUrl(): string {
  const postgres = services().postgres;
  if (!postgres.ok) throw new Error(postgres.reason);
  return postgres.url;
}
