import { describe, expect, it } from "vitest";
import { zodFieldErrors } from "../api/validation.ts";
import { imagePatchSchema, newImageSchema } from "./image-spec.ts";
import { type NodeFacts, parseConstraint, unmetConstraints } from "./placement.ts";

const schema = newImageSchema(20);

function accepted(placement: unknown) {
  const parsed = schema.safeParse({ name: "shop", image: "nginx:1.27", placement });
  if (!parsed.success) throw new Error(`refused: ${JSON.stringify(zodFieldErrors(parsed.error))}`);
  return parsed.data.placement;
}

function refusals(placement: unknown) {
  const parsed = schema.safeParse({ name: "shop", image: "nginx:1.27", placement });
  if (parsed.success) throw new Error(`accepted: ${JSON.stringify(placement)}`);
  return zodFieldErrors(parsed.error);
}

describe("placement in the spec", () => {
  it("defaults to none: no constraint, no spread", () => {
    const parsed = schema.parse({ name: "shop", image: "nginx:1.27" });
    expect(parsed.placement).toEqual({ constraints: [], spread: null });
    expect(accepted({})).toEqual({ constraints: [], spread: null });
  });

  it("takes every attribute Swarm matches, canonical (no spaces around the operator)", () => {
    expect(
      accepted({
        constraints: [
          "node.id==2ivku8v2gvtg4",
          "node.hostname != node-2",
          " node.role == manager ",
          "node.platform.os==linux",
          "node.platform.arch==x86_64",
          "node.labels.zone==a",
          "engine.labels.com.example.disk!=hdd",
        ],
        spread: "node.labels.zone",
      }),
    ).toEqual({
      constraints: [
        "node.id==2ivku8v2gvtg4",
        "node.hostname!=node-2",
        "node.role==manager",
        "node.platform.os==linux",
        "node.platform.arch==x86_64",
        "node.labels.zone==a",
        "engine.labels.com.example.disk!=hdd",
      ],
      spread: "node.labels.zone",
    });
    expect(accepted({ spread: "engine.labels.rack" }).spread).toBe("engine.labels.rack");
  });

  it("refuses a bad constraint with its index in the field path", () => {
    expect(
      refusals({
        constraints: [
          "node.role==manager",
          "node.zone==a",
          "node.labels.zone>a",
          "node.role==boss",
        ],
      }),
    ).toEqual([
      {
        path: "placement.constraints[1]",
        message: expect.stringContaining("node.zone is not an attribute Swarm knows"),
      },
      {
        path: "placement.constraints[2]",
        message: "must be <attribute>==<value> or <attribute>!=<value>",
      },
      { path: "placement.constraints[3]", message: 'node.role is "manager" or "worker"' },
    ]);
    expect(refusals({ constraints: ["node.labels.==a"] })[0]?.path).toBe(
      "placement.constraints[0]",
    );
    expect(refusals({ constraints: ["node.labels.zone=="] })[0]?.message).toContain("the value");
    expect(refusals({ constraints: ["node.labels.zone==a b"] })[0]?.path).toBe(
      "placement.constraints[0]",
    );
    expect(refusals({ constraints: [42] })).toEqual([
      { path: "placement.constraints[0]", message: "must be a string" },
    ]);
  });

  it("refuses a constraint listed twice (even spelled differently), a bad spread, unknown fields", () => {
    expect(refusals({ constraints: ["node.role==manager", "node.role == manager"] })).toEqual([
      { path: "placement.constraints[1]", message: "node.role==manager is listed twice" },
    ]);
    expect(refusals({ spread: "node.hostname" })).toEqual([
      { path: "placement.spread", message: "must be node.labels.<key> or engine.labels.<key>" },
    ]);
    expect(refusals({ constraints: [], zone: "a" })).toEqual([
      { path: "placement.zone", message: "unknown field" },
    ]);
    expect(refusals("node.role==manager")[0]?.path).toBe("placement");
    expect(
      refusals({
        constraints: Array.from({ length: 33 }, (_, index) => `node.labels.k${index}==a`),
      }),
    ).toEqual([{ path: "placement.constraints", message: "at most 32 constraints" }]);
  });

  it("is a field of a change too (PATCH)", () => {
    const parsed = imagePatchSchema.safeParse({ placement: { constraints: ["node.x==1"] } });
    expect(parsed.success).toBe(false);
    if (!parsed.success) {
      expect(zodFieldErrors(parsed.error)[0]?.path).toBe("placement.constraints[0]");
    }
    expect(imagePatchSchema.parse({ placement: { spread: "node.labels.zone" } }).placement).toEqual(
      { constraints: [], spread: "node.labels.zone" },
    );
  });
});

describe("matching constraints against one node", () => {
  const node: NodeFacts = {
    id: "abc123",
    hostname: "box-1",
    role: "manager",
    os: "linux",
    arch: "x86_64",
    nodeLabels: { zone: "a" },
    engineLabels: { disk: "ssd" },
  };

  it("meets equal values, without regard to case, and unequal ones with !=", () => {
    expect(
      unmetConstraints(
        [
          "node.id==abc123",
          "node.hostname==BOX-1",
          "node.role==manager",
          "node.platform.os==linux",
          "node.platform.arch==x86_64",
          "node.labels.zone==a",
          "engine.labels.disk==ssd",
          "node.labels.zone!=b",
        ],
        node,
      ),
    ).toEqual([]);
  });

  it("names the ones it does not meet; a missing label is the empty value", () => {
    expect(
      unmetConstraints(
        [
          "node.role==worker",
          "node.labels.zone==nowhere",
          "node.labels.rack==1",
          "node.labels.rack!=1",
          "engine.labels.disk!=ssd",
        ],
        node,
      ),
    ).toEqual([
      "node.role==worker",
      "node.labels.zone==nowhere",
      "node.labels.rack==1",
      "engine.labels.disk!=ssd",
    ]);
    expect(unmetConstraints(["node.role==manager"], { ...node, role: "" })).toEqual([
      "node.role==manager",
    ]);
  });

  it("parses what it formats", () => {
    expect(parseConstraint("node.labels.zone==a")).toEqual({
      ok: true,
      value: { attribute: "node.labels.zone", operator: "==", value: "a" },
    });
    expect(parseConstraint("zone")).toMatchObject({ ok: false });
  });
});
