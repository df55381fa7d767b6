import { describe, expect, it } from "vitest";
import { labelKeys } from "../../domain/labels.ts";
import { hasOurName, isOwnedContainer } from "./ownership.ts";

const labels = {
  [labelKeys.managedBy]: "orch",
  [labelKeys.imageId]: "7",
  [labelKeys.instanceId]: "abc123defg",
  [labelKeys.owner]: "2",
};

describe("isOwnedContainer", () => {
  it("accepts only the name the controller gives the labelled instance", () => {
    expect(isOwnedContainer({ name: "orch-shop-abc123defg", labels }, "orch", "shop")).toBe(true);
    // A build step container carrying a forged LABEL has a name the engine made up.
    expect(isOwnedContainer({ name: "eager_turing", labels }, "orch", "shop")).toBe(false);
    expect(isOwnedContainer({ name: "orch-other-abc123defg", labels }, "orch", "shop")).toBe(false);
    expect(
      isOwnedContainer(
        { name: "orch-shop-abc123defg", labels: { ...labels, [labelKeys.instanceId]: "x/y" } },
        "orch",
        "shop",
      ),
    ).toBe(false);
    const { [labelKeys.instanceId]: _, ...unlabelled } = labels;
    expect(
      isOwnedContainer({ name: "orch-shop-abc123defg", labels: unlabelled }, "orch", "shop"),
    ).toBe(false);
  });
});

describe("hasOurName", () => {
  it("recognises the shape of our names when no image row says the image name", () => {
    expect(hasOurName({ name: "orch-shop-abc123defg", labels }, "orch")).toBe(true);
    expect(hasOurName({ name: "orch-my-app-abc123defg", labels }, "orch")).toBe(true);
    expect(hasOurName({ name: "quirky_hopper", labels }, "orch")).toBe(false);
    expect(hasOurName({ name: "orch--abc123defg", labels }, "orch")).toBe(false);
    expect(hasOurName({ name: "other-shop-abc123defg", labels }, "orch")).toBe(false);
  });
});
