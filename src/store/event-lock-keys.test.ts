import { describe, expect, it } from "vitest";
import { eventLockKeys } from "./events-repository.ts";

const about = (...imageIds: number[]) => imageIds.map((imageId) => ({ imageId }));

describe("the order event writers take their image locks in", () => {
  it("is the order of the keys, once each, whatever the order of the events", () => {
    expect(eventLockKeys(about(9, 3, 9, 5))).toEqual([3, 5, 9]);
  });

  it("folds ids past Postgres's int onto their key and orders by it, so two writers never wait in a cycle", () => {
    // 2^31 folds onto 1: a writer of images 5 and 2^31 and a writer of images 1 and 5 both
    // take lock 1 before lock 5 (in id order the first would take 5 first: a deadlock).
    expect(eventLockKeys(about(5, 2 ** 31))).toEqual([1, 5]);
    expect(eventLockKeys(about(1, 5))).toEqual([1, 5]);
    expect(eventLockKeys(about(1, 2 ** 31))).toEqual([1]);
    expect(eventLockKeys(about(2_147_483_646, 2_147_483_647))).toEqual([0, 2_147_483_646]);
  });
});
