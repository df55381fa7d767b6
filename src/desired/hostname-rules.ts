import type { Repositories } from "../store/repositories.ts";
import { DesiredStateError } from "./errors.ts";

/**
 * Whether a hostname is one the router itself answers under, never an image's: an IP address
 * (an all-numeric last label), `localhost` and its subdomains (RFC 6761), and the hosts the
 * controller scrapes the routers' /metrics at (ROUTER_METRICS_URL). An image with such a name
 * would answer the scrape in the router's stead and steer every tenant's autoscaler. Pure.
 */
export function isReservedHostname(hostname: string, reserved: readonly string[]): boolean {
  const labels = hostname.toLowerCase().split(".");
  const last = labels.at(-1) ?? "";
  return (
    /^[0-9]+$/.test(last) ||
    last === "localhost" ||
    reserved.some((name) => name.toLowerCase() === hostname.toLowerCase())
  );
}

/**
 * An `app_hostname` is one tenant's: the router balances a hostname's requests over every image
 * that has it, so another user's image with it (409 `hostname_taken`), or a hostname of the
 * router's own (422), is refused. Checked in the write's transaction, under the hostname's lock.
 */
export async function refuseTakenHostname(
  tx: Pick<Repositories, "images">,
  userId: number,
  hostname: string | null | undefined,
  reserved: readonly string[],
): Promise<void> {
  if (hostname === null || hostname === undefined) return;
  if (isReservedHostname(hostname, reserved)) {
    const message = "is the router's own address (an IP, localhost or ROUTER_METRICS_URL's host)";
    throw new DesiredStateError("validation_failed", `app_hostname ${hostname} ${message}`, {
      errors: [{ path: "app_hostname", message }],
    });
  }
  const other = await tx.images.hostnameOfOtherUser(hostname, userId);
  if (other === undefined) return;
  throw new DesiredStateError(
    "hostname_taken",
    `app_hostname ${hostname} is already another user's image's`,
    { errors: [{ path: "app_hostname", message: "already taken by another user's image" }] },
  );
}
