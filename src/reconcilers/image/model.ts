import type { InstanceRecord } from "../../store/records.ts";

export type { ImageRecord, InstanceRecord, ObservedPatch } from "../../store/records.ts";

export function isMarkedForDeletion(record: InstanceRecord): boolean {
  return record.deletion_requested_at !== null;
}
