import { positiveId } from "./ids.ts";

/** The Docker labels of the public contract, and how to read them back. */
export const labelKeys = {
  managedBy: "managed-by",
  imageId: "orchestrator.image-id",
  instanceId: "orchestrator.instance-id",
  owner: "orchestrator.owner",
  specHash: "orchestrator.spec-hash",
  /** On a tenant's volume: the name the tenant gave it (`volumes[].source`). */
  volume: "orchestrator.volume",
  /** On a network an image declares: the tenant's name for it. */
  network: "orchestrator.network",
  /** On a Docker secret the Swarm runtime made: the tenant's name for the secret. */
  secret: "orchestrator.secret",
} as const;

export type ContainerLabels = Readonly<Record<string, string>>;

export function containerLabels(input: {
  readonly orchestratorId: string;
  readonly imageId: number;
  readonly instanceId: string;
  readonly userId: number;
  readonly specHash: string;
}): ContainerLabels {
  return {
    [labelKeys.managedBy]: input.orchestratorId,
    [labelKeys.imageId]: String(input.imageId),
    [labelKeys.instanceId]: input.instanceId,
    [labelKeys.owner]: String(input.userId),
    [labelKeys.specHash]: input.specHash,
  };
}

/** The labels of a built image: whose build it is (set over any LABEL of the Dockerfile). */
export function imageLabels(
  orchestratorId: string,
  imageId: number,
  userId: number,
): ContainerLabels {
  return {
    [labelKeys.managedBy]: orchestratorId,
    [labelKeys.imageId]: String(imageId),
    [labelKeys.owner]: String(userId),
  };
}

/** The image id a managed container belongs to, or undefined when the label is missing or bad. */
export function imageIdOf(labels: ContainerLabels | undefined): number | undefined {
  const raw = labels?.[labelKeys.imageId];
  return raw === undefined ? undefined : positiveId(raw);
}

/** The labels of a tenant's network. */
export function networkLabels(orchestratorId: string, userId: number): ContainerLabels {
  return { [labelKeys.managedBy]: orchestratorId, [labelKeys.owner]: String(userId) };
}

/** The labels of a tenant's named volume: whose it is, and its name as the tenant wrote it. */
export function volumeLabels(
  orchestratorId: string,
  userId: number,
  name: string,
): ContainerLabels {
  return { ...networkLabels(orchestratorId, userId), [labelKeys.volume]: name };
}

/** The labels of a network an image declares: whose, and the tenant's name for it. */
export function declaredNetworkLabels(
  orchestratorId: string,
  userId: number,
  name: string,
): ContainerLabels {
  return { ...networkLabels(orchestratorId, userId), [labelKeys.network]: name };
}
