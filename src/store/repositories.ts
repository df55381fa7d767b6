import { createAuditRepository } from "./audit-repository.ts";
import { createAutoscaleStatusRepository } from "./autoscale-status-repository.ts";
import { createBuildsRepository } from "./builds-repository.ts";
import { createClaimsRepository } from "./claims-repository.ts";
import { createEventsRepository } from "./events-repository.ts";
import type { Executor } from "./executor.ts";
import { createHealthSnapshotsRepository } from "./health-snapshots-repository.ts";
import { createImagesRepository } from "./images-repository.ts";
import { createInstancesRepository } from "./instances-repository.ts";
import { createLeaderLeasesRepository } from "./leader-leases-repository.ts";
import { createRegistryCredentialsRepository } from "./registry-credentials-repository.ts";
import { createRevisionsRepository } from "./revisions-repository.ts";
import { createRolloutsRepository } from "./rollouts-repository.ts";
import { createSecretsRepository } from "./secrets-repository.ts";
import type { Together } from "./together.ts";
import { createTokensRepository } from "./tokens-repository.ts";
import { createUsersRepository } from "./users-repository.ts";

/** One repository per table, all on the same executor (the pool, or one transaction). */
export type Repositories = {
  readonly images: ReturnType<typeof createImagesRepository>;
  readonly instances: ReturnType<typeof createInstancesRepository>;
  readonly claims: ReturnType<typeof createClaimsRepository>;
  readonly builds: ReturnType<typeof createBuildsRepository>;
  readonly events: ReturnType<typeof createEventsRepository>;
  readonly healthSnapshots: ReturnType<typeof createHealthSnapshotsRepository>;
  readonly tokens: ReturnType<typeof createTokensRepository>;
  readonly users: ReturnType<typeof createUsersRepository>;
  readonly audit: ReturnType<typeof createAuditRepository>;
  readonly leaderLeases: ReturnType<typeof createLeaderLeasesRepository>;
  readonly secrets: ReturnType<typeof createSecretsRepository>;
  readonly registryCredentials: ReturnType<typeof createRegistryCredentialsRepository>;
  readonly revisions: ReturnType<typeof createRevisionsRepository>;
  readonly autoscaleStatus: ReturnType<typeof createAutoscaleStatusRepository>;
  readonly rollouts: ReturnType<typeof createRolloutsRepository>;
};

/**
 * The repositories on an executor; in a shared transaction with `together`, through which the
 * works' common steps go as one statement (together.ts); on the store's pool with `lookups`,
 * through which the requests' token lookups do (lookupsTogether).
 */
export function repositoriesOf(
  executor: Executor,
  together?: Together,
  lookups?: Together,
): Repositories {
  return {
    images: createImagesRepository(executor, together),
    instances: createInstancesRepository(executor),
    claims: createClaimsRepository(executor),
    builds: createBuildsRepository(executor),
    events: createEventsRepository(executor, together),
    healthSnapshots: createHealthSnapshotsRepository(executor),
    tokens: createTokensRepository(executor, lookups),
    users: createUsersRepository(executor),
    audit: createAuditRepository(executor),
    leaderLeases: createLeaderLeasesRepository(executor),
    secrets: createSecretsRepository(executor),
    registryCredentials: createRegistryCredentialsRepository(executor),
    revisions: createRevisionsRepository(executor),
    autoscaleStatus: createAutoscaleStatusRepository(executor),
    rollouts: createRolloutsRepository(executor),
  };
}
