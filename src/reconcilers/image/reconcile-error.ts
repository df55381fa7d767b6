/**
 * What one pass asks of the workqueue: look again after a delay, and look at other images now
 * (`wake`: images whose pass may decide differently after this one, e.g. dependents of an image
 * that became Ready).
 */
export type ReconcileResult = {
  readonly requeueAfterMs?: number;
  readonly wake?: readonly number[];
};

/** An error worth a retry with back-off (pull failed, Docker action failed). */
export class ReconcileError extends Error {
  override name = "ReconcileError";
  readonly reason: string;
  /** Images to look at all the same: the pass changed what they wait for before it failed. */
  readonly wake: readonly number[];
  constructor(
    reason: string,
    message: string,
    options?: ErrorOptions & { readonly wake?: readonly number[] },
  ) {
    super(message, options);
    this.reason = reason;
    this.wake = options?.wake ?? [];
  }
}
