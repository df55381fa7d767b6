// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile text uses ${…} itself
import { describe, expect, it } from "vitest";
import { readDockerfile } from "./dockerfile-images.ts";

const references = (text: string, args: Record<string, string> = {}) =>
  readDockerfile(text, args).images.map((image) => image.reference);

describe("readDockerfile", () => {
  it("lists what FROM, COPY --from and RUN --mount read, leaving out stages and scratch", () => {
    const text = [
      "FROM base:1 AS build",
      "RUN --mount=type=cache,target=/c --mount=type=bind,from=tools:2,target=/t make",
      "FROM scratch",
      "COPY --from=build /out /out",
      "COPY --from=0 /a /a",
      "COPY --from=helper:3 /h /h",
    ].join("\n");
    expect(references(text)).toEqual(["base:1", "tools:2", "helper:3"]);
  });

  it("substitutes ARGs the way the build would: defaults, build args, ${A:-x}, per stage", () => {
    const text = [
      "ARG BASE=alpine",
      "ARG TAG",
      "FROM ${BASE}:${TAG:-3.20}",
      "ARG BASE",
      "ARG SIDE=side:1",
      "COPY --from=$SIDE / /",
    ].join("\n");
    expect(references(text)).toEqual(["alpine:3.20", "side:1"]);
    expect(references(text, { BASE: "private/thing", TAG: "7", SIDE: "other:2" })).toEqual([
      "private/thing:7",
      "other:2",
    ]);
  });

  it("joins continuation lines and skips comments, with either escape character", () => {
    expect(references("FROM \\\n  spread:1 \\\n  AS s\n# FROM commented:1\n")).toEqual([
      "spread:1",
    ]);
    expect(references("# escape=`\nFROM `\n  tick:1\n")).toEqual(["tick:1"]);
  });

  it("reads parser directives, and reports what it cannot resolve", () => {
    const facts = readDockerfile("# syntax=docker/dockerfile:1.4\nFROM $UNKNOWN\nFROM ${X:-}\n");
    expect(facts.directives).toEqual({ syntax: "docker/dockerfile:1.4" });
    expect(facts.unreadable.map((image) => image.line)).toEqual([2, 3]);
    expect(facts.images).toEqual([]);
  });

  it("finds heredocs (Dockerfile 1.4, which the engine's frontend 1.2 cannot read)", () => {
    const text = [
      "FROM base:1",
      "RUN <<EOF",
      "echo hi",
      "EOF",
      "COPY <<-'CONF' /etc/app.conf",
      'RUN --mount=type=cache,target=/c cat <<"END" > /x',
      'RUN echo "a<<b" && echo 1<<2',
      "RUN printf 'x' >> /log",
    ].join("\n");
    expect(readDockerfile(text).heredocs).toEqual([2, 5, 6]);
  });
});
