/**
 * Who makes a change: a user through one of its tokens, the admin token of the configuration,
 * or the controller itself. Every desired-state write and every user or token change carries
 * one, and the audit log records it in the transaction of the change.
 */
export type Actor = {
  /** The acting user; null for the controller. */
  readonly userId: number | null;
  /** The user's name, or "controller". */
  readonly name: string;
  /** The token used; null for the admin token of the configuration and the controller. */
  readonly tokenId: number | null;
  readonly tokenName: string | null;
  /** The request that made the change, to find its log lines. */
  readonly requestId?: string | undefined;
};

/** The controller, when it writes desired state itself (e.g. a built image gone missing). */
export const controllerActor: Actor = {
  userId: null,
  name: "controller",
  tokenId: null,
  tokenName: null,
};
