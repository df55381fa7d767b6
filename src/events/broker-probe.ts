import { lookup } from "node:dns/promises";
import { connect, isIP } from "node:net";

/** A broker's host and port, from Kafka's `host:port`. */
export function brokerAddress(broker: string): { host: string; port: number } | undefined {
  const colon = broker.lastIndexOf(":");
  if (colon <= 0) return undefined;
  const port = Number(broker.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) return undefined;
  return { host: broker.slice(0, colon), port };
}

/** Whether any broker accepts a TCP connection now; false once `signal` aborts. */
export type BrokerProbe = (signal: AbortSignal) => Promise<boolean>;

/**
 * A probe of `brokers`: whether any of them accepts a TCP connection within `timeoutMs`. Only
 * that: it says nothing of TLS, SASL or the topic, and it sends nothing (the connection is
 * closed at once). Every socket ends when the probe answers or `signal` aborts. A host whose
 * name is still being looked up from an earlier probe is not looked up again (a slow resolver
 * would otherwise fill libuv's thread pool, which the whole process shares): it counts as not
 * accepting meanwhile.
 */
export function createBrokerProbe(brokers: readonly string[], timeoutMs: number): BrokerProbe {
  const addresses = brokers.flatMap((broker) => {
    const address = brokerAddress(broker);
    return address === undefined ? [] : [address];
  });
  const lookingUp = new Set<string>();

  const resolve = async (host: string): Promise<string | undefined> => {
    if (isIP(host) !== 0) return host;
    if (lookingUp.has(host)) return undefined;
    lookingUp.add(host);
    try {
      return (await lookup(host)).address;
    } catch {
      return undefined;
    } finally {
      lookingUp.delete(host);
    }
  };

  return (signal) => {
    if (signal.aborted || addresses.length === 0) return Promise.resolve(false);
    return new Promise((answer) => {
      const sockets = new Set<ReturnType<typeof connect>>();
      let pending = addresses.length;
      let answered = false;
      const end = (accepted: boolean) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", aborted);
        for (const socket of sockets) socket.destroy();
        answer(accepted);
      };
      const aborted = () => end(false);
      const refused = () => {
        if (--pending === 0) end(false);
      };
      const timer = setTimeout(() => end(false), timeoutMs);
      signal.addEventListener("abort", aborted, { once: true });
      for (const { host, port } of addresses) {
        void resolve(host).then((ip) => {
          if (answered) return;
          if (ip === undefined) return refused();
          const socket = connect({ host: ip, port });
          sockets.add(socket);
          socket.once("connect", () => end(true));
          socket.once("error", () => {
            sockets.delete(socket);
            refused();
          });
        });
      }
    });
  };
}

/**
 * Resolves once `probe` answers true after the broker was found away: by the last publish
 * (`awayAtStart`: it could not connect) or by a probe answering false. Probes every
 * `intervalMs`, the first one `intervalMs` from now (so never two attempts in one interval),
 * until then, or until `signal` aborts (then it never resolves). A broker that was never found
 * away answers while publishing fails for another reason: the caller's back-off stands.
 */
export function probeUntilBack(
  probe: BrokerProbe,
  signal: AbortSignal,
  intervalMs: number,
  awayAtStart: boolean,
): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return;
    let away = awayAtStart;
    let timer: NodeJS.Timeout | undefined;
    const stop = () => clearTimeout(timer);
    signal.addEventListener("abort", stop, { once: true });
    const round = async () => {
      const accepted = await probe(signal).catch(() => false);
      if (signal.aborted) return;
      if (accepted && away) {
        signal.removeEventListener("abort", stop);
        resolve();
        return;
      }
      away ||= !accepted;
      timer = setTimeout(round, intervalMs);
    };
    timer = setTimeout(round, intervalMs);
  });
}
