import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { createImageService } from "../../src/desired/image-service.ts";
import { createContainerRuntime } from "../../src/docker/runtime.ts";
import { docker, managedContainers } from "../support/docker-helpers.ts";
import { httpdReconciler, useReconcilerStore } from "../support/reconciler-on-pglite.ts";
import { hasDocker } from "../support/services.ts";

/**
 * A pass works toward the spec it read at its start. A spec change written while it runs makes
 * a newer revision, which the pass has not rolled out: it must not judge that revision by its
 * own (older) containers. It did: the revision was read at the end of the pass, found Ready
 * (its containers ran the old spec, all up), and its rollout recorded complete before a single
 * container ran it, losing its progress deadline and its automatic rollback. Here the change
 * is written while a pass lists the containers it started, on the real engine and PGlite.
 */
describe.runIf(hasDocker())("a revision written while a pass runs", () => {
  const suite = useReconcilerStore("mid-pass");

  it("is rolled out by the next pass, not recorded complete by this one", async () => {
    const { orchestratorId } = suite;
    const store = suite.store();
    const { owner, image } = await suite.seedWeb("0s");
    const runtime = createContainerRuntime(docker);
    /** Runs once, at the `at`-th list from now (then that list answers). */
    let duringList: { at: number; write: () => Promise<unknown> } | undefined;
    const reconciler = await httpdReconciler(store, orchestratorId, owner.id, {
      runtime: {
        ...runtime,
        listManaged: async (...args: Parameters<typeof runtime.listManaged>) => {
          const listed = await runtime.listManaged(...args);
          if (duringList !== undefined && --duringList.at === 0) {
            const { write } = duringList;
            duringList = undefined;
            await write();
          }
          return listed;
        },
      },
    });
    const images = createImageService(store, {
      builtImagePrefix: orchestratorId,
      adminUserId: owner.id,
      maxInstancesCap: 100,
      orchestratorId,
      quota: { defaults: loadConfig({}).quota, unlimitedUsers: new Set([owner.id]) },
    });
    const rollout = () => store.rollouts.findWithNewestRevision(image.id);
    const rolloutEvents = async () =>
      (await store.events.list({ imageId: image.id, limit: 1_000 }))
        .filter((event) => event.type.startsWith("image.rollout_"))
        .map((event) => [event.type, event.data.from_revision, event.data.to_revision]);
    /** Whether each running container was made with revision 2's environment. */
    const runRevisionTwo = async () =>
      Promise.all(
        (await managedContainers(orchestratorId))
          .filter((container) => container.State === "running")
          .map(async (container) =>
            ((await docker.getContainer(container.Id).inspect()).Config.Env ?? []).includes(
              "GREETING=hello",
            ),
          ),
      );

    // Revision 1 runs and is Ready: its rollout is complete.
    await reconciler.reconcile(image.id);
    await reconciler.reconcile(image.id);
    const first = await rollout();
    expect(first.newest?.revision).toBe(1);
    expect([first.rollout?.to_revision, first.rollout?.state]).toEqual([1, "complete"]);

    // A pass scales 1 -> 2: it reads the image, lists, starts an instance, and lists again to
    // judge the result. While it does, the owner changes the spec (revision 2). The guard at
    // the start of a pass (the image's version read again after its rows) is long passed.
    const scope = {
      userId: owner.id,
      actor: { userId: owner.id, name: owner.name, tokenId: null, tokenName: null },
    };
    await images.patch(scope, image.id, { desired_instances: 2 });
    const read = await store.images.find(image.id);
    duringList = {
      at: 2,
      write: () => images.patch(scope, image.id, { env: { GREETING: "hello" } }),
    };
    await reconciler.reconcile(image.id);
    expect(duringList).toBeUndefined();
    const during = await rollout();
    expect(during.newest?.revision).toBe(2);
    // Left to the next pass: the rollout row is still revision 1's, and nothing was said of
    // revision 2 (no container runs it yet).
    expect([during.rollout?.to_revision, during.rollout?.state]).toEqual([1, "complete"]);
    expect(await rolloutEvents()).toEqual([]);
    expect(await runRevisionTwo()).toEqual([false, false]);
    // The revision of the spec the pass read (what a Swarm pass names for an update Swarm
    // paused) is still 1; the image's newest generation has 2.
    const written = await store.images.find(image.id);
    expect((await store.revisions.newestUpTo(image.id, read?.generation ?? 0))?.revision).toBe(1);
    expect((await store.revisions.newestUpTo(image.id, written?.generation ?? 0))?.revision).toBe(
      2,
    );

    // The next passes roll revision 2 out (one instance at a time), and then it completes.
    for (let pass = 0; pass < 6; pass++) await reconciler.reconcile(image.id);
    const after = await rollout();
    expect([after.rollout?.to_revision, after.rollout?.state]).toEqual([2, "complete"]);
    expect(await runRevisionTwo()).toEqual([true, true]);
    // It went through a rollout of its own: started, then completed.
    expect(await rolloutEvents()).toEqual([
      ["image.rollout_started", 1, 2],
      ["image.rollout_completed", 1, 2],
    ]);
  }, 120_000);
});
