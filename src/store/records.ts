import type { Selectable } from "kysely";
import type { ImagesTable, InstancesTable } from "./schema.ts";

/** An image row as read. */
export type ImageRecord = Selectable<ImagesTable>;

/** An instance row: desired columns (written by the API) and observed ones (by the controller). */
export type InstanceRecord = Selectable<InstancesTable>;

/** The columns the controller writes about an instance. */
export type ObservedPatch = Partial<
  Pick<
    InstanceRecord,
    | "observed_state"
    | "container_id"
    | "host_port"
    | "host_ports"
    | "host"
    | "spec_hash"
    | "restart_count"
    | "consecutive_failures"
    | "next_restart_at"
    | "last_exit_code"
    | "last_error"
    | "oom_killed"
    | "started_at"
    | "stopped_at"
    | "health"
    | "probe_failures"
    | "last_probe"
    | "last_logs"
  >
>;
