/**
 * What the Kafka sink knows of reaching its brokers, which decides whether a probe's connection
 * may end the relay's back-off (EventSink.brokerReturns):
 * - `reached`: the last publish reached a broker (it succeeded, or a broker answered with an
 *   error: no leader, refused credentials). Nothing to wait for: no probe, no wake.
 * - `unreachable`: the last publish could not connect. The first probe that connects is the
 *   broker's return.
 * - `woken`: a probe said "back" since a publish last reached a broker. A probe that connects
 *   says no more than it did (and was wrong, if a publish after it still could not connect: a
 *   load balancer accepts while the brokers behind it are down). Until a publish reaches a
 *   broker, only a probe refused first, then connecting, is a return.
 */
export type BrokerReach = "reached" | "unreachable" | "woken";

export type PublishOutcome = "reached" | "connection failed";

export function reachAfterPublish(reach: BrokerReach, outcome: PublishOutcome): BrokerReach {
  if (outcome === "reached") return "reached";
  return reach === "woken" ? "woken" : "unreachable";
}

/** Whether to probe at all while the relay backs off. */
export const probesWhile = (reach: BrokerReach): boolean => reach !== "reached";

/** Whether the broker counts as away before any probe (the last publish could not connect). */
export const awayAtStart = (reach: BrokerReach): boolean => reach === "unreachable";
