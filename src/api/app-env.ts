import type { Logger } from "../logger.ts";

/** Who is calling. The admin may act for anyone; a user only for themselves. */
export type Principal = {
  readonly userId: number;
  readonly userName: string;
  readonly isAdmin: boolean;
};

export type AppEnv = {
  Variables: {
    requestId: string;
    principal: Principal;
    log: Logger;
  };
};
