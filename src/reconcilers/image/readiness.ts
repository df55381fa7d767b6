import type { ContainerSnapshot } from "../../docker/runtime.ts";
import { assignContainers } from "./assign.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";
import { imageConditions, type Runnability } from "./status.ts";

/** Whether the image is Ready as this pass saw it (the Ready condition of status.ts). */
export function isReady(pass: {
  readonly image: ImageRecord;
  readonly records: readonly InstanceRecord[];
  readonly containers: readonly ContainerSnapshot[];
  readonly runnability: Runnability;
  readonly desiredHash: string | undefined;
  readonly now: Date;
}): boolean {
  const assignment = assignContainers(pass.records, pass.containers);
  return imageConditions({
    image: pass.image,
    records: pass.records,
    containerOf: (record) => assignment.byInstance.get(record.id),
    runnability: pass.runnability,
    desiredHash: pass.desiredHash,
    now: pass.now,
  }).some((condition) => condition.type === "Ready" && condition.status === "True");
}
