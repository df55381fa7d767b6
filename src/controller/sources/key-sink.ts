/** Where sources put keys (image ids): the controller's workqueue. */
export type KeySink = {
  enqueue(imageId: number): void;
  enqueueAfter(imageId: number, delayMs: number): void;
  /** A full resync soon (coalesced): something may have been missed. */
  requestResync(): void;
};

/** Stops a running source. */
export type StopSource = () => void | Promise<void>;
