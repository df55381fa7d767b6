import { describe, expect, it } from "vitest";
import { parseListen } from "./router-command.ts";
import { runCli } from "./run-cli.ts";

describe("orchestrator router", () => {
  it.each([
    [":8080", { host: "0.0.0.0", port: 8080 }],
    ["127.0.0.1:0", { host: "127.0.0.1", port: 0 }],
    ["[::1]:8080", { host: "::1", port: 8080 }],
  ])("--listen %s", (value, expected) => {
    expect(parseListen(value)).toEqual(expected);
  });

  it.each(["8080", "host", ":99999", "a:b"])("refuses --listen %s", (value) => {
    expect(() => parseListen(value)).toThrow(/expected \[HOST\]:PORT/);
  });

  async function run(args: string[], environment: NodeJS.ProcessEnv = {}) {
    const err: string[] = [];
    const code = await runCli(["router", ...args], {
      environment,
      out: () => {},
      err: (line) => err.push(line),
    });
    return { code, err: err.join("\n") };
  }

  it("refuses a bad source, and Kafka without brokers, before listening", async () => {
    expect(await run(["--source", "nats"])).toMatchObject({
      code: 2,
      err: expect.stringContaining("must be kafka or sse"),
    });
    expect(await run(["--source", "kafka"])).toMatchObject({
      code: 2,
      err: expect.stringContaining("needs --brokers or KAFKA_BROKERS"),
    });
  });

  it("names the option whose address it refuses", async () => {
    expect(await run(["--source", "sse", "--metrics-listen", "9464"])).toMatchObject({
      code: 2,
      err: expect.stringContaining("--metrics-listen 9464: expected [HOST]:PORT"),
    });
  });

  it("refuses a bad --wake-timeout before listening", async () => {
    for (const value of ["0", "abc", "601"]) {
      expect(await run(["--source", "sse", "--wake", "--wake-timeout", value])).toMatchObject({
        code: 2,
        err: expect.stringContaining(`--wake-timeout ${value}: must be 1 to 600 seconds`),
      });
    }
  });

  it("checks the Kafka settings as the service does, naming the variable", async () => {
    const result = await run(["--listen", "127.0.0.1:0"], {
      KAFKA_BROKERS: "127.0.0.1:1",
      KAFKA_SASL_MECHANISM: "plain",
    });
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/KAFKA_SASL/);
  });

  it("refuses a ROUTER_METRICS_TOKEN no scraper could send, before listening", async () => {
    const result = await run(["--source", "sse", "--listen", "127.0.0.1:0"], {
      ROUTER_METRICS_TOKEN: "a token with spaces in it",
    });
    expect(result).toMatchObject({
      code: 2,
      err: expect.stringContaining("ROUTER_METRICS_TOKEN: must be letters, digits"),
    });
    expect(result.err).not.toContain("spaces in it");
  });
});
