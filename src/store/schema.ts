import type { ColumnType, Generated } from "kysely";

/** Kysely's view of the tables in sql/. One type per table; names match the SQL. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type GeneratedId = Generated<number>;

export type UsersTable = {
  id: GeneratedId;
  name: string;
  created_at: Timestamp;
};

export type ApiTokensTable = {
  id: GeneratedId;
  user_id: number;
  name: string;
  token_hash: string;
  created_at: Timestamp;
  last_used_at: Date | null;
};

export type Database = {
  users: UsersTable;
  api_tokens: ApiTokensTable;
};
