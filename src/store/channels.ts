/** NOTIFY channels. Payloads are hints: whoever listens reads the rows again. */

/** Sent after every desired-state write (payload: the image id) for the controller. */
export const imagesChannel = "orchestrator_images";

/** Sent by a statement trigger once per transaction that inserted events (sql/0002). */
export const eventsChannel = "orchestrator_events";
