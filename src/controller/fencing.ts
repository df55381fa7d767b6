import type { ContainerRuntime } from "../docker/runtime.ts";
import type { SwarmRuntime } from "../docker/swarm.ts";
import type { Store } from "../store/database.ts";
import { LeadershipLostError } from "../store/sql-backend.ts";
import type { LeaderTerm } from "./leader-election.ts";

/**
 * Fencing: a leader that was deposed (its lock session ended, or a successor took the lease)
 * must not act on Docker or the database any more, even when it is slow or partitioned and has
 * not noticed yet. See "Leadership and fencing" in docs/architecture.md.
 */

/**
 * The runtime with every Docker write behind the term's `fence`: a fresh round trip on the
 * lock's own session that proves the lock is still held and the epoch still current, and the
 * write tracked until it settles, so the term's end waits for it. Reads pass.
 */
export function fencedRuntime(
  runtime: ContainerRuntime,
  fence: LeaderTerm["fence"],
): ContainerRuntime {
  const fenced =
    <Args extends unknown[], Result>(write: (...args: Args) => Promise<Result>) =>
    (...args: Args): Promise<Result> =>
      fence(() => write(...args));
  return {
    listManaged: (orchestratorId, imageId) => runtime.listManaged(orchestratorId, imageId),
    inspect: (idOrName) => runtime.inspect(idOrName),
    describeImage: (reference) => runtime.describeImage(reference),
    create: fenced((request) => runtime.create(request)),
    start: fenced((id) => runtime.start(id)),
    stop: fenced((id, timeoutSeconds) => runtime.stop(id, timeoutSeconds)),
    remove: fenced((id) => runtime.remove(id)),
    pull: fenced((reference, auth) => runtime.pull(reference, auth)),
    writeFiles: fenced((id, files) => runtime.writeFiles(id, files)),
    removeImage: fenced((reference) => runtime.removeImage(reference)),
    removeNetwork: fenced((name) => runtime.removeNetwork(name)),
    removeVolume: fenced((name) => runtime.removeVolume(name)),
    listDeclaredNetworks: (orchestratorId, userId) =>
      runtime.listDeclaredNetworks(orchestratorId, userId),
  };
}

/** Swarm's writes (services, secrets, networks) behind the term's `fence` too, as the container runtime's. */
export function fencedSwarm(swarm: SwarmRuntime, fence: LeaderTerm["fence"]): SwarmRuntime {
  return {
    isManager: () => swarm.isManager(),
    listServices: (orchestratorId, imageId) => swarm.listServices(orchestratorId, imageId),
    listTasks: (serviceName) => swarm.listTasks(serviceName),
    listTenantNetworks: (orchestratorId, userId) =>
      swarm.listTenantNetworks(orchestratorId, userId),
    createService: (request) => fence(() => swarm.createService(request)),
    updateService: (service, request) => fence(() => swarm.updateService(service, request)),
    removeService: (idOrName) => fence(() => swarm.removeService(idOrName)),
    removeNetwork: (name) => fence(() => swarm.removeNetwork(name)),
    removeUnusedSecrets: (orchestratorId, imageId, keep) =>
      fence(() => swarm.removeUnusedSecrets(orchestratorId, imageId, keep)),
  };
}

/** A fence from a lock alone (no term): the lock's own check before each write, nothing tracked. */
export function lockFence(lock: { confirm(): Promise<void> }): LeaderTerm["fence"] {
  return async (write) => {
    await lock.confirm();
    return write();
  };
}

/**
 * The store with every transaction opened by holding the lease row at this term's epoch
 * (FOR SHARE): a successor's epoch bump waits for the transactions in flight, and every
 * transaction after it fails, so a deposed leader commits nothing. The controller writes only
 * through `transaction` (src/architecture.test.ts checks the reconciler). On the embedded
 * database there is one process and nothing to fence.
 */
export function fencedStore(store: Store, lease: { name: string; epoch: number }): Store {
  if (store.kind === "pglite") return store;
  return {
    ...store,
    transaction: (work) =>
      store.transaction(async (tx) => {
        if (!(await tx.leaderLeases.holdEpoch(lease.name, lease.epoch))) {
          throw new LeadershipLostError(
            `lease ${lease.name} moved past epoch ${lease.epoch}: a newer leader took over`,
          );
        }
        return work(tx);
      }),
  };
}
