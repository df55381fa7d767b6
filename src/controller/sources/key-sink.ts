/** Where sources put keys (image ids): the controller's workqueue. */
export type KeySink = {
  enqueue(imageId: number): void;
  /**
   * Its desired state was written: a pass at once, unless one began less than the controller's
   * write spacing ago; then one when that is over. A burst of writes to one image costs one
   * pass per spacing, not one per write.
   */
  enqueueWritten(imageId: number): void;
  enqueueAfter(imageId: number, delayMs: number): void;
  /** A full resync soon (coalesced): something may have been missed. */
  requestResync(): void;
};

/** Stops a running source. */
export type StopSource = () => void | Promise<void>;
