import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

/** What a repository runs its queries on: the pool, one connection, or a transaction. */
export type Executor = Kysely<Database>;
