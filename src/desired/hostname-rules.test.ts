import { describe, expect, it } from "vitest";
import { isReservedHostname } from "./hostname-rules.ts";

describe("isReservedHostname", () => {
  it("reserves IP literals, localhost and the routers' own hosts, and nothing else", () => {
    const routers = ["router.ops.test"];
    for (const name of ["127.0.0.1", "10.0.0.7", "1.2.3.4.5", "localhost", "app.localhost"]) {
      expect(isReservedHostname(name, routers), name).toBe(true);
    }
    expect(isReservedHostname("Router.Ops.Test", routers)).toBe(true);
    for (const name of ["shop.example.com", "10.0.0.7.nip.io", "localhost.example", "router"]) {
      expect(isReservedHostname(name, routers), name).toBe(false);
    }
  });
});
