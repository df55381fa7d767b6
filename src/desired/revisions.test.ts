import { describe, expect, it } from "vitest";
import { imageRecordFixture } from "../reconcilers/image/image-record-fixture.ts";
import type { ImageRecord } from "../store/records.ts";
import { startsRevision } from "./revisions.ts";

/** An image row as plan.test.ts sizes it: 3 wanted of at most 10, no env. */
function image(overrides: Partial<ImageRecord> = {}): ImageRecord {
  return imageRecordFixture({}, { max_instances: 10, desired_instances: 3, env: {}, ...overrides });
}

const existing = { hasRevision: true, userBuild: false };

describe("startsRevision", () => {
  it("starts one when what containers run changes", () => {
    for (const change of [
      { image_reference: "shop:v2" },
      { tag: "v2" },
      { env: { A: "1" } },
      { cpu_limit: "2" },
      { container_port: 9090 },
      { container_options: { command: ["serve"] } },
      { source_digest: "sha256:new" },
    ] satisfies Partial<ImageRecord>[]) {
      expect(startsRevision(image(), image(change), existing), JSON.stringify(change)).toBe(true);
    }
  });

  it("starts none for a scale, a relabel of the controller's own options, or a deletion", () => {
    for (const change of [
      { desired_instances: 5 },
      { min_instances: 1, max_instances: 20 },
      { container_options: { restart_policy: { name: "never" as const, max_retries: 0 } } },
      { container_options: { pull_policy: "always" as const } },
      { app_hostname: "shop.example.com" },
    ] satisfies Partial<ImageRecord>[]) {
      expect(startsRevision(image(), image(change), existing), JSON.stringify(change)).toBe(false);
    }
    expect(startsRevision(image(), image({ status: "deleting", tag: "v9" }), existing)).toBe(false);
  });

  it("starts one for a build a user asked for, even of the same source", () => {
    expect(startsRevision(image(), image(), { hasRevision: true, userBuild: true })).toBe(true);
  });

  it("gives an image its first once it can run something", () => {
    const first = { hasRevision: false, userBuild: false };
    expect(startsRevision(undefined, image(), first)).toBe(true);
    const upload = image({ source_type: "upload", image_reference: null });
    expect(startsRevision(undefined, upload, first)).toBe(false);
    expect(startsRevision(upload, { ...upload, source_digest: "sha256:a" }, first)).toBe(true);
  });
});
