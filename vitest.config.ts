import { defineConfig } from "vitest/config";

/** What every integration project shares: the real services, found (and prepared) once. */
const integration = {
  environment: "node" as const,
  globalSetup: ["test/support/global-setup.ts"],
  setupFiles: ["test/support/require-services.ts"],
  testTimeout: 120_000,
  hookTimeout: 120_000,
  pool: "forks" as const,
};

export default defineConfig({
  test: {
    // With CI set, a skipped test fails the run (test/support/no-skips-reporter.ts).
    reporters: ["default", "./test/support/no-skips-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          ...integration,
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: ["test/alone/**"],
          // Suites share one Docker engine and two cores; each uses its own ORCHESTRATOR_ID.
          maxWorkers: 2,
        },
      },
      {
        test: {
          ...integration,
          // Suites that restart the Docker engine or the Postgres server everyone uses, or set
          // what is the engine's alone (the BuildKit cgroup's limits, which every build server
          // writes before its builds): they run after every other suite has finished (a later
          // group), one file at a time.
          name: "alone",
          include: ["test/alone/**/*.test.ts"],
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
