import { describe, expect, it } from "vitest";
import { decideImageAccess, matchesImagePattern, referencePolicy } from "./image-access.ts";
import { labelKeys } from "./labels.ts";

const settings = {
  orchestratorId: "orch",
  builtImagePrefix: "app",
  allowedLocalImages: ["orchestrator-test/*", "tools:1"],
};
const alice = { userId: 2, isAdmin: false };
const bob = { userId: 3, isAdmin: false };
const admin = { userId: 1, isAdmin: true };
const aliceBuild = "app-u2-i7-0123456789abcdef0123456789abcdef:latest";
const builtBy = (userId: number) => ({
  labels: {
    [labelKeys.managedBy]: "orch",
    [labelKeys.imageId]: "7",
    [labelKeys.owner]: String(userId),
  },
});
const plain = { labels: {} };

describe("referencePolicy", () => {
  it("refuses image ids and other tenants' builds to tenants, not to the admin", () => {
    expect(referencePolicy(`sha256:${"a".repeat(64)}`, bob, settings)).toMatchObject({
      kind: "deny",
      code: "image_not_allowed",
    });
    expect(referencePolicy("a".repeat(64), bob, settings).kind).toBe("deny");
    expect(referencePolicy(aliceBuild, bob, settings)).toMatchObject({
      kind: "deny",
      code: "image_not_found",
    });
    expect(referencePolicy(`docker.io/library/${aliceBuild}`, bob, settings).kind).toBe("deny");
    expect(referencePolicy(aliceBuild, alice, settings).kind).toBe("allow");
    expect(referencePolicy(`sha256:${"a".repeat(64)}`, admin, settings).kind).toBe("allow");
    expect(referencePolicy("nginx:1.27", bob, settings).kind).toBe("allow");
  });
});

describe("decideImageAccess", () => {
  it("lets a tenant use its own builds, whatever tag names them, and nobody else's", () => {
    expect(decideImageAccess(aliceBuild, alice, builtBy(2), settings).kind).toBe("allow");
    expect(decideImageAccess("retagged:1", alice, builtBy(2), settings).kind).toBe("allow");
    expect(decideImageAccess("retagged:1", bob, builtBy(2), settings)).toMatchObject({
      kind: "deny",
      code: "image_not_found",
    });
  });

  it("never pulls a name in the builds' namespace", () => {
    expect(decideImageAccess(aliceBuild, alice, undefined, settings).kind).toBe("deny");
  });

  it("uses allowed local images, and pulls anything else first", () => {
    expect(decideImageAccess("orchestrator-test/httpd:latest", bob, plain, settings).kind).toBe(
      "allow",
    );
    expect(decideImageAccess("tools:1", bob, plain, settings).kind).toBe("allow");
    expect(decideImageAccess("tools:2", bob, plain, settings).kind).toBe("pull");
    expect(decideImageAccess("internal/secret:1", bob, plain, settings).kind).toBe("pull");
    expect(decideImageAccess("nginx:1.27", bob, undefined, settings).kind).toBe("pull");
    expect(decideImageAccess("internal/secret:1", admin, plain, settings).kind).toBe("allow");
  });
});

describe("matchesImagePattern", () => {
  it("matches with * and ignores Docker Hub's implicit prefix", () => {
    expect(matchesImagePattern("orchestrator-test/httpd:latest", "orchestrator-test/*")).toBe(true);
    expect(matchesImagePattern("docker.io/library/nginx:1.27", "nginx:*")).toBe(true);
    expect(matchesImagePattern("nginx:1.27", "nginx:1.2")).toBe(false);
    expect(matchesImagePattern("evil.orchestrator-test/x", "orchestrator-test/*")).toBe(false);
  });
});
