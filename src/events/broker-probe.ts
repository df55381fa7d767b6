import { connect } from "node:net";

/** A broker's host and port, from Kafka's `host:port` (an IPv6 host in brackets: `[::1]:9092`). */
export function brokerAddress(broker: string): { host: string; port: number } | undefined {
  const colon = broker.lastIndexOf(":");
  if (colon <= 0) return undefined;
  const port = Number(broker.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) return undefined;
  const host = broker.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return host === "" ? undefined : { host, port };
}

/**
 * Whether any of `brokers` accepts a TCP connection within `timeoutMs`. Only that: it says
 * nothing of TLS, SASL or the topic, and it sends nothing (the connection is closed at once).
 */
export async function anyBrokerAccepts(
  brokers: readonly string[],
  timeoutMs: number,
): Promise<boolean> {
  const attempts = brokers.flatMap((broker) => {
    const address = brokerAddress(broker);
    return address === undefined ? [] : [accepts(address, timeoutMs)];
  });
  if (attempts.length === 0) return false;
  return new Promise((resolve) => {
    let refused = 0;
    for (const attempt of attempts) {
      void attempt.then((accepted) => {
        if (accepted) resolve(true);
        else if (++refused === attempts.length) resolve(false);
      });
    }
  });
}

function accepts(address: { host: string; port: number }, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(address);
    const end = (accepted: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(accepted);
    };
    const timer = setTimeout(() => end(false), timeoutMs);
    socket.once("connect", () => end(true));
    socket.once("error", () => end(false));
  });
}

/**
 * Resolves once `probe` answers true after the broker was found away: by the last publish
 * (`awayAtStart`: it could not connect) or by a probe answering false. Probes every
 * `intervalMs`, the first one `intervalMs` from now (so never two attempts in one interval),
 * until then, or until `signal` aborts (then it never resolves). A broker that was never found
 * away answers while publishing fails for another reason: the caller's back-off stands.
 */
export function brokerReturns(
  probe: () => Promise<boolean>,
  signal: AbortSignal,
  intervalMs: number,
  awayAtStart: boolean,
): Promise<void> {
  return new Promise((resolve) => {
    let away = awayAtStart;
    let timer: NodeJS.Timeout | undefined;
    const stop = () => clearTimeout(timer);
    signal.addEventListener("abort", stop, { once: true });
    const round = async () => {
      if (signal.aborted) return;
      const accepted = await probe().catch(() => false);
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
