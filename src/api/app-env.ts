import type { Caller } from "../accounts/caller.ts";
import type { Logger } from "../logger.ts";

/**
 * Who is calling: a user through one of its tokens (`read`, `write` or `admin` scope), or the
 * admin token of the configuration. The admin may act for anyone; a user only for themselves.
 */
export type Principal = Caller & {
  /** The token used; null for the admin token of the configuration. */
  readonly tokenId: number | null;
};

export type AppEnv = {
  Variables: {
    requestId: string;
    principal: Principal;
    log: Logger;
  };
};
