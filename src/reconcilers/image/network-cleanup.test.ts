import { describe, expect, it } from "vitest";
import { declaredNetworksKey, mayHaveUndeclaredNetworks } from "./network-cleanup.ts";

const declaring = (networks: string[]) => ({ container_options: { networks } });

describe("when a pass looks for networks no image declares any more", () => {
  it("compares an image's declared networks whatever their order", () => {
    expect(declaredNetworksKey(declaring(["db", "cache"]))).toBe(
      declaredNetworksKey(declaring(["cache", "db"])),
    );
    expect(declaredNetworksKey(declaring(["db"]))).not.toBe(
      declaredNetworksKey(declaring(["db", "cache"])),
    );
    expect(declaredNetworksKey({ container_options: {} })).toBe(declaredNetworksKey(declaring([])));
  });

  it("looks after a container went, on the first pass, and when the declared networks changed", () => {
    const db = declaredNetworksKey(declaring(["db"]));
    expect(mayHaveUndeclaredNetworks(true, db, db)).toBe(true);
    expect(mayHaveUndeclaredNetworks(false, db, undefined)).toBe(true);
    expect(mayHaveUndeclaredNetworks(false, declaredNetworksKey(declaring([])), db)).toBe(true);
  });

  it("does not look when only the count (or anything but the networks) changed", () => {
    const db = declaredNetworksKey(declaring(["db"]));
    expect(mayHaveUndeclaredNetworks(false, db, db)).toBe(false);
  });
});
