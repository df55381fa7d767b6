import { createOrchestrator } from "orchestrator";

// The engine in this process: an embedded database in memory, the local Docker engine, no port.
const orchestrator = await createOrchestrator();
orchestrator.on("*", (event) => console.log(event.time, event.type, event.subject));

try {
  // The app waits for a healthy database: startMany applies both, then waits in that order.
  const [, app] = await orchestrator.startMany([
    {
      name: "app",
      image: process.env.APP_IMAGE ?? "my-app:dev",
      container_port: 8080,
      env: { DATABASE_HOST: "db" },
      depends_on: [{ name: "db", condition: "healthy" }],
      health_check: { http_path: process.env.APP_HEALTH_PATH ?? "/health", interval: "2s" },
    },
    {
      name: "db",
      image: process.env.DB_IMAGE ?? "postgres:17",
      env: { POSTGRES_PASSWORD: "dev" },
      health_check: {
        test: ["CMD-SHELL", process.env.DB_READY ?? "pg_isready -U postgres"],
        interval: "2s",
      },
    },
  ]);
  for (const instance of await orchestrator.images.containers(app?.id ?? 0)) {
    const healthy = await orchestrator.isHealthy(instance);
    console.log(
      `${instance.name} ${healthy ? "healthy" : "unhealthy"} on port ${instance.host_port}`,
    );
  }
} finally {
  // Reverse dependency order: the app stops before its database.
  await orchestrator.stopAll();
  await orchestrator.shutdown();
}
