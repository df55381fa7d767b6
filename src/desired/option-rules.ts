import {
  adminOnlyOptions,
  type ContainerOptions,
  type PortMapping,
} from "../domain/container-options.ts";
import { bindMountIssues } from "../domain/volumes.ts";
import type { Repositories } from "../store/repositories.ts";
import { portsInLockOrder } from "./claim-locks.ts";
import { DesiredStateError } from "./errors.ts";

/** The host ports tenants may ask for by number (HOST_PORT_RANGE); none when undefined. */
export type HostPortRange = { readonly min: number; readonly max: number };

export type OptionRules = {
  readonly adminUserId: number;
  readonly hostPortRange?: HostPortRange | undefined;
  /** Host folders the admin's bind mounts may be under (BIND_MOUNT_ALLOWLIST); none when unset. */
  readonly bindMountAllowlist?: readonly string[] | undefined;
};

function isAsked(options: Partial<ContainerOptions>, name: (typeof adminOnlyOptions)[number]) {
  const value = options[name];
  return Array.isArray(value) ? value.length > 0 : value === true;
}

/**
 * What only some may ask for: options that reach past the sandbox (privileged, cap_add,
 * devices, host folders as volumes) are the admin's, host folders only under
 * BIND_MOUNT_ALLOWLIST (403 forbidden with the mount's path); a fixed host port must be in HOST_PORT_RANGE for tenants, and free
 * (no other image asks for it: 409 port_in_use). Checked in the write's transaction, under the
 * port's lock (two writes racing for one port: one wins).
 */
export async function refuseForbiddenOptions(
  tx: Pick<Repositories, "images">,
  options: Partial<ContainerOptions> | undefined,
  image: { readonly id: number | undefined; readonly userId: number },
  rules: OptionRules,
): Promise<void> {
  if (options === undefined) return;
  const isAdmin = image.userId === rules.adminUserId;
  if (!isAdmin) {
    const asked = adminOnlyOptions.filter((name) => isAsked(options, name));
    if (asked.length > 0) {
      throw new DesiredStateError("forbidden", `${asked.join(", ")}: only the admin may set this`, {
        errors: asked.map((name) => ({ path: name, message: "only the admin may set this" })),
      });
    }
  }
  const bindIssues = bindMountIssues(options.volumes, {
    isAdmin,
    allowlist: rules.bindMountAllowlist ?? [],
  });
  if (bindIssues.length > 0) {
    throw new DesiredStateError(
      "forbidden",
      bindIssues.map((issue) => `${issue.path}: ${issue.message}`).join("; "),
      { errors: bindIssues },
    );
  }
  for (const [index, mapping] of (options.ports ?? []).entries()) {
    if (mapping.host === undefined) continue;
    const path = `ports[${index}].host`;
    const range = rules.hostPortRange;
    if (!isAdmin && (range === undefined || mapping.host < range.min || mapping.host > range.max)) {
      const message =
        range === undefined
          ? "fixed host ports are not enabled (HOST_PORT_RANGE): leave host out for a dynamic port"
          : `must be between ${range.min} and ${range.max} (HOST_PORT_RANGE)`;
      throw new DesiredStateError("validation_failed", `${path}: ${message}`, {
        errors: [{ path, message }],
      });
    }
  }
  const taken = await firstTakenHostPort(tx, options.ports, image.id);
  if (taken !== undefined) {
    const path = `ports[${taken.index}].host`;
    throw new DesiredStateError(
      "port_in_use",
      `host port ${taken.mapping.host}/${taken.mapping.protocol} is already taken by another image`,
      { errors: [{ path, message: "already taken by another image" }] },
    );
  }
}

/**
 * The first fixed host port of `ports` that another image (not being deleted) asks for, with its
 * index; undefined when every one is free. Each port is looked at under its lock until the
 * transaction ends, taken in lock order (claim-locks.ts), so that two writes racing for one
 * port are decided one after the other and two asking for the same ports never deadlock.
 */
export async function firstTakenHostPort(
  tx: Pick<Repositories, "images">,
  ports: readonly PortMapping[] | undefined,
  imageId: number | undefined,
): Promise<{ readonly index: number; readonly mapping: PortMapping } | undefined> {
  for (const [index, mapping] of portsInLockOrder(ports)) {
    if (mapping.host === undefined) continue;
    if (await tx.images.usingHostPort(mapping.host, mapping.protocol, imageId)) {
      return { index, mapping };
    }
  }
  return undefined;
}
