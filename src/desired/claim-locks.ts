import type { PortMapping } from "../domain/container-options.ts";
import type { Repositories } from "../store/repositories.ts";

/**
 * The order every write takes the locks of what it claims across tenants, so that no two writes
 * wait for each other in a circle (a deadlock, which Postgres ends by failing one of them: a 409
 * `conflict` that decided nothing): fixed host ports first (by protocol, then port), then
 * hostnames (by name). A write of one image takes its own in this order (option-rules.ts, then
 * hostname-rules.ts); a write of several in one transaction (an apply) takes all of theirs
 * first, in this order, since its images' checks one after the other would not be.
 */

/** Fixed host ports in lock order: by protocol, then port; each entry with its index. Pure. */
export function portsInLockOrder(
  ports: readonly PortMapping[] | undefined,
): Array<[number, PortMapping]> {
  return [...(ports ?? []).entries()].sort(
    ([, a], [, b]) => a.protocol.localeCompare(b.protocol) || (a.host ?? 0) - (b.host ?? 0),
  );
}

/** What a set of images claims, each kind once, in lock order. Pure. */
export function claimsInLockOrder(
  images: ReadonlyArray<{
    readonly ports?: readonly PortMapping[] | undefined;
    readonly app_hostname?: string | null | undefined;
  }>,
): { ports: Array<{ port: number; protocol: string }>; hostnames: string[] } {
  const ports = new Map<string, PortMapping>();
  for (const image of images) {
    for (const mapping of image.ports ?? []) {
      if (mapping.host !== undefined) ports.set(`${mapping.protocol}/${mapping.host}`, mapping);
    }
  }
  const hostnames = new Set<string>();
  for (const image of images) {
    if (typeof image.app_hostname === "string") hostnames.add(image.app_hostname);
  }
  return {
    ports: portsInLockOrder([...ports.values()]).map(([, mapping]) => ({
      port: mapping.host ?? 0,
      protocol: mapping.protocol,
    })),
    hostnames: [...hostnames].sort(),
  };
}

/**
 * Takes, until the transaction ends, the locks of every fixed host port and hostname a set of
 * images asks for, in lock order: the checks of each image then take them again without waiting.
 */
export async function lockClaims(
  tx: Pick<Repositories, "images">,
  images: Parameters<typeof claimsInLockOrder>[0],
): Promise<void> {
  const { ports, hostnames } = claimsInLockOrder(images);
  for (const { port, protocol } of ports) await tx.images.lockHostPort(port, protocol);
  for (const hostname of hostnames) await tx.images.lockHostname(hostname);
}
