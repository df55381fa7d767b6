import type { Actor } from "../domain/actor.ts";
import type { TokenScope } from "../domain/token-scope.ts";

/** Who calls an account service: a user through a token (of some scope), or the admin. */
export type Caller = {
  readonly userId: number;
  readonly userName: string;
  readonly isAdmin: boolean;
  readonly scope: TokenScope;
  readonly actor: Actor;
};
