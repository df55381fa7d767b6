import { describe, expect, it } from "vitest";
import { claimsInLockOrder, portsInLockOrder } from "./claim-locks.ts";

describe("the order claims are locked in", () => {
  it("orders ports by protocol, then port, keeping each one's index", () => {
    expect(
      portsInLockOrder([
        { container: 1, protocol: "udp", host: 10 },
        { container: 2, protocol: "tcp", host: 30 },
        { container: 3, protocol: "tcp", host: 20 },
      ]).map(([index]) => index),
    ).toEqual([2, 1, 0]);
  });

  it("gives a set of images' fixed ports and hostnames once each, whatever the images' order", () => {
    const one = {
      ports: [
        { container: 80, protocol: "tcp" as const, host: 9002 },
        { container: 81, protocol: "tcp" as const },
      ],
      app_hostname: "b.test",
    };
    const two = {
      ports: [{ container: 80, protocol: "tcp" as const, host: 9001 }],
      app_hostname: "a.test",
    };
    const three = { ports: [{ container: 80, protocol: "tcp" as const, host: 9002 }] };
    const expected = {
      ports: [
        { port: 9001, protocol: "tcp" },
        { port: 9002, protocol: "tcp" },
      ],
      hostnames: ["a.test", "b.test"],
    };
    expect(claimsInLockOrder([one, two, three])).toEqual(expected);
    expect(claimsInLockOrder([three, two, one])).toEqual(expected);
    expect(claimsInLockOrder([{ app_hostname: null }])).toEqual({ ports: [], hostnames: [] });
  });
});
