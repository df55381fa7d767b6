import { describe, expect, it } from "vitest";
import { imageRecordFixture } from "../reconcilers/image/image-record-fixture.ts";
import {
  type RevisionView,
  rollbackRefusal,
  rollbackTarget,
  rolledBackSpec,
} from "./rollback-target.ts";
import { specOfRecord } from "./spec-diff.ts";

const revision = (number: number): RevisionView => ({
  revision: number,
  spec: { tag: `v${number}` },
  source_digest: null,
  docker_image_id: `sha256:${number}`,
});
/** Kept revisions, newest first, as the store lists them. */
const kept = [revision(5), revision(4), revision(3)];

describe("rollbackTarget", () => {
  it("returns to the previous revision when none is named", () => {
    expect(rollbackTarget(kept, undefined)).toEqual({ ok: true, target: revision(4) });
  });

  it("returns to the revision named", () => {
    expect(rollbackTarget(kept, 3)).toEqual({ ok: true, target: revision(3) });
  });

  it("refuses an unknown or no longer kept revision, naming the kept ones", () => {
    const refused = rollbackTarget(kept, 2);
    expect(refused).toEqual({
      ok: false,
      code: "revision_not_found",
      message: "revision 2 not found (kept: 5, 4, 3)",
    });
  });

  it("refuses the current revision, and a rollback without any earlier one", () => {
    expect(rollbackTarget(kept, 5)).toMatchObject({ ok: false, code: "conflict" });
    expect(rollbackTarget([revision(1)], undefined)).toMatchObject({ ok: false, code: "conflict" });
    expect(rollbackTarget([], undefined)).toMatchObject({ ok: false, code: "conflict" });
  });
});

describe("rolledBackSpec", () => {
  const current = specOfRecord(
    imageRecordFixture(
      {},
      {
        tag: "v3",
        env: { MODE: "new" },
        desired_instances: 4,
        max_instances: 6,
        container_options: { command: ["serve", "--new"], restart_policy: { name: "never" } },
      },
    ),
  );
  const old = specOfRecord(
    imageRecordFixture(
      {},
      {
        tag: "v1",
        env: { MODE: "old" },
        desired_instances: 1,
        max_instances: 2,
        container_options: { command: ["serve"] },
      },
    ),
  );

  it("takes what containers run from the revision", () => {
    const spec = rolledBackSpec(current, JSON.parse(JSON.stringify(old)));
    expect(spec.tag).toBe("v1");
    expect(spec.env).toEqual({ MODE: "old" });
    expect(spec.command).toEqual(["serve"]);
  });

  it("keeps the instance counts and the controller's own options as they are now", () => {
    const spec = rolledBackSpec(current, JSON.parse(JSON.stringify(old)));
    expect(spec.desired_instances).toBe(4);
    expect(spec.max_instances).toBe(6);
    expect(spec.restart_policy).toEqual({ name: "never" });
  });
});

describe("rollbackRefusal", () => {
  const upload = { id: 7, source_type: "upload" as const, status: "ready" };
  const reference = { id: 8, source_type: "reference" as const, status: "ready" };
  const built = revision(2);
  const named: RevisionView = { ...revision(2), spec: { image: "nginx:1" }, docker_image_id: null };

  it("lets an image go back to a revision of its kind (an upload's with its build)", () => {
    expect(rollbackRefusal(upload, built)).toBeUndefined();
    expect(rollbackRefusal(reference, named)).toBeUndefined();
  });

  it("refuses while deleting, and an upload while it builds", () => {
    expect(rollbackRefusal({ ...reference, status: "deleting" }, named)).toMatchObject({
      code: "conflict",
      message: "image 8 is being deleted",
    });
    for (const status of ["pending", "building"]) {
      expect(rollbackRefusal({ ...upload, status }, built)).toMatchObject({
        code: "conflict",
        message: expect.stringMatching(/building/),
      });
    }
    expect(rollbackRefusal({ ...reference, status: "building" }, named)).toBeUndefined();
  });

  it("refuses an upload's revision that recorded no build, and a revision of the other kind", () => {
    expect(rollbackRefusal(upload, { ...built, docker_image_id: null })).toMatchObject({
      code: "revision_image_gone",
    });
    expect(rollbackRefusal(upload, { ...named, docker_image_id: "sha256:1" })).toMatchObject({
      code: "conflict",
      message: expect.stringMatching(/ran an image reference/),
    });
    expect(rollbackRefusal(reference, built)).toMatchObject({
      code: "conflict",
      message: expect.stringMatching(/ran an uploaded source/),
    });
  });
});
