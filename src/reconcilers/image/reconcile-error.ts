/** What one pass asks of the workqueue: look again after a delay, or nothing. */
export type ReconcileResult = { readonly requeueAfterMs?: number };

/** An error worth a retry with back-off (pull failed, Docker action failed). */
export class ReconcileError extends Error {
  override name = "ReconcileError";
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}
