/** One message for the event stream: Kafka's key, value and headers, all strings. */
export type SinkMessage = {
  readonly key: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
};

export type PublishOptions = {
  /** Aborting gives up waiting (the publish rejects with a retriable error). */
  readonly signal?: AbortSignal;
};

/** Messages the sink refused before sending them (e.g. larger than the broker accepts). */
export type PublishReport = {
  readonly rejected: readonly { readonly index: number; readonly error: PublishError }[];
};

/**
 * Where the relay delivers events. `publish` resolves only when the broker acknowledged every
 * message it did not list in `rejected`, and rejects with a PublishError when the batch failed.
 */
export type EventSink = {
  connect(): Promise<void>;
  publish(messages: readonly SinkMessage[], options?: PublishOptions): Promise<PublishReport>;
  disconnect(): Promise<void>;
  /**
   * Resolves once the broker, found unreachable, accepts connections again (it never resolves
   * while the broker is reachable all along, nor after `signal` aborts). The relay cuts a
   * back-off short with it, so that events follow a returning broker within about a second.
   */
  brokerReturns?(signal: AbortSignal): Promise<void>;
};

/**
 * A failed publish. `retriable`: try the same messages again later (broker down, timeout, no
 * leader, anything unknown). Not retriable: the broker will never take these messages as they
 * are (too large, invalid record); `code` names the broker's reason.
 */
export class PublishError extends Error {
  override name = "PublishError";
  readonly retriable: boolean;
  readonly code: string;

  constructor(message: string, options: { retriable: boolean; code: string; cause?: unknown }) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.retriable = options.retriable;
    this.code = options.code;
  }
}

/** Anything thrown by a sink, as a PublishError (unknown failures are retriable). */
export function asPublishError(error: unknown): PublishError {
  if (error instanceof PublishError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PublishError(message, { retriable: true, code: "UNKNOWN", cause: error });
}
