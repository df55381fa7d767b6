/**
 * A removal is announced (`container.draining`) once, even across a crash: the state a pass
 * leaves when it announced an instance marked elsewhere and died before the stop (the mark and
 * its event in the log, the container still running) is written here, in one transaction, the
 * way the API's mark and the controller's announcement would leave it. The next pass must stop
 * and remove the instance without announcing it a second time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerEvent } from "../../src/domain/event-builders.ts";
import { runnableReference } from "../../src/domain/names.ts";
import { managedContainers } from "../support/docker-helpers.ts";
import { announcedRemoval, removalTail } from "../support/removal-events.ts";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe.each(backends())("a removal announced before a crash (%s)", (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backend });
  });
  afterAll(() => server?.stop());

  it("is not announced again by the next pass: draining, stopped, removed, once each", async () => {
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "once",
        image: testImages.httpd,
        desired_instances: 2,
        max_instances: 2,
        memory_limit: "16m",
        cpu_limit: "0.1",
      },
    });
    expect(created.status).toBe(201);
    const imageId = created.body.id as number;
    await waitFor(
      async () =>
        (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[],
      (items) => items.length === 2 && items.every((item) => item.observed_state === "running"),
      { what: "2 running instances" },
    );

    const { store } = server.service;
    const image = await store.images.find(imageId);
    const [victim] = await store.instances.listOfImage(imageId);
    if (image === undefined || victim === undefined || victim.container_id === null) {
      throw new Error("the image and a running instance should be there");
    }
    await store.transaction(async (tx) => {
      await tx.instances.markForDeletion([victim.id], "deleted");
      await tx.events.append([
        containerEvent(
          image,
          victim,
          victim.container_id,
          { type: "container.draining", reason: "deleted" },
          { advertiseHost: "127.0.0.1", reference: runnableReference(image, "") },
        ),
      ]);
      await tx.images.notifyChanged(imageId);
    });

    const events = await waitFor(
      async () =>
        (
          await server.request(
            "GET",
            `/api/events?image_id=${imageId}&instance_id=${victim.id}&limit=1000`,
          )
        ).body.items as any[],
      (items) => items.some((event) => event.type === "container.removed"),
      { what: "the marked instance removed", timeoutMs: 60_000 },
    );
    expect(removalTail(events, victim.id)).toEqual(announcedRemoval("deleted"));
    const left = await managedContainers(server.orchestratorId, imageId);
    expect(left.map((container) => container.Id)).not.toContain(victim.container_id);
  });
});
