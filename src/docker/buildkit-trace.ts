import { createRequire } from "node:module";
import type protobufjs from "protobufjs";

/**
 * BuildKit's progress, as the engine streams it through the build API: `moby.buildkit.trace`
 * lines whose `aux` is a base64 `moby.buildkit.v1.StatusResponse` (protobuf). Only the fields
 * the build log needs are declared (protobuf skips the others).
 */
const traceSchema = {
  nested: {
    StatusResponse: {
      fields: {
        vertexes: { rule: "repeated", type: "Vertex", id: 1 },
        logs: { rule: "repeated", type: "VertexLog", id: 3 },
      },
    },
    Vertex: {
      fields: {
        digest: { type: "string", id: 1 },
        name: { type: "string", id: 3 },
        cached: { type: "bool", id: 4 },
        started: { type: "Timestamp", id: 5 },
        completed: { type: "Timestamp", id: 6 },
        error: { type: "string", id: 7 },
      },
    },
    VertexLog: {
      fields: {
        vertex: { type: "string", id: 1 },
        stream: { type: "int64", id: 3 },
        msg: { type: "bytes", id: 4 },
      },
    },
    Timestamp: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } },
  },
};

let statusResponseType: protobufjs.Type | undefined;

/**
 * The protobuf type of a trace message (the tests encode with it too). protobufjs loads on the
 * first build's first trace line, not at start: an idle service never needs it.
 */
export function statusResponse(): protobufjs.Type {
  if (statusResponseType === undefined) {
    const protobuf = createRequire(import.meta.url)("protobufjs") as typeof protobufjs;
    statusResponseType = protobuf.Root.fromJSON(traceSchema).lookupType("StatusResponse");
  }
  return statusResponseType;
}

export type TraceVertex = {
  readonly digest: string;
  readonly name: string;
  readonly cached: boolean;
  readonly started: boolean;
  readonly completed: boolean;
  readonly error: string;
};

export type TraceLog = { readonly vertex: string; readonly text: string };

export type Trace = {
  readonly vertexes: readonly TraceVertex[];
  readonly logs: readonly TraceLog[];
};

type RawStatus = {
  vertexes?: Array<{
    digest?: string;
    name?: string;
    cached?: boolean;
    started?: unknown;
    completed?: unknown;
    error?: string;
  }>;
  logs?: Array<{ vertex?: string; msg?: Uint8Array }>;
};

/** Decodes one trace message (the `aux` of a `moby.buildkit.trace` line). */
export function decodeTrace(base64: string): Trace {
  const raw = statusResponse().decode(Buffer.from(base64, "base64")) as unknown as RawStatus;
  return {
    vertexes: (raw.vertexes ?? []).map((vertex) => ({
      digest: vertex.digest ?? "",
      name: vertex.name ?? "",
      cached: vertex.cached ?? false,
      started: vertex.started != null,
      completed: vertex.completed != null,
      error: vertex.error ?? "",
    })),
    logs: (raw.logs ?? []).map((log) => ({
      vertex: log.vertex ?? "",
      text: Buffer.from(log.msg ?? new Uint8Array()).toString("utf8"),
    })),
  };
}
