import { describe, expect, it } from "vitest";
import { cloudEventJson, eventSource, toCloudEvent, toKafkaMessage } from "./cloudevent.ts";

const row = {
  id: "01890a5d-ac96-774b-bcce-b302099a8057",
  type: "container.started",
  subject: "containers/abc123",
  image_id: 42,
  time: new Date("2025-03-04T05:06:07.089Z"),
  data: { container_id: "c0ffee", image_id: 42, host_port: 32768, stopped_at: null },
};

describe("toCloudEvent", () => {
  it("maps a row to the contract's CloudEvents 1.0 structured JSON", () => {
    expect(toCloudEvent(row, eventSource("orch-1"))).toEqual({
      specversion: "1.0",
      id: row.id,
      source: "orchestrator/orch-1",
      type: "container.started",
      subject: "containers/abc123",
      time: "2025-03-04T05:06:07.089Z",
      datacontenttype: "application/json",
      data: row.data,
    });
  });

  it("writes each event's own time when times alternate (the last one is remembered)", () => {
    const later = new Date("2025-03-04T05:06:08.5Z");
    const times = [row.time, later, later, row.time, "2025-03-04 06:06:08.5+01"].map(
      (time) => toCloudEvent({ ...row, time: time as Date }, "s").time,
    );
    expect(times).toEqual([
      "2025-03-04T05:06:07.089Z",
      "2025-03-04T05:06:08.500Z",
      "2025-03-04T05:06:08.500Z",
      "2025-03-04T05:06:07.089Z",
      "2025-03-04T05:06:08.500Z",
    ]);
  });

  it("writes time as RFC 3339 in UTC even when the driver gave a string", () => {
    const event = toCloudEvent({ ...row, time: "2025-03-04 06:06:07.089+01" as never }, "s");
    expect(event.time).toBe("2025-03-04T05:06:07.089Z");
  });
});

describe("toKafkaMessage", () => {
  it("keys by image id, carries the JSON as value, and sets the binding headers", () => {
    const message = toKafkaMessage(row, "orchestrator/o");
    expect(message.key).toBe("42");
    expect(JSON.parse(message.value)).toEqual(toCloudEvent(row, "orchestrator/o"));
    expect(message.headers).toMatchObject({
      "content-type": "application/cloudevents+json",
      ce_specversion: "1.0",
      ce_id: row.id,
      ce_type: "container.started",
      ce_source: "orchestrator/o",
    });
  });

  it("keeps null data fields (billing reads stopped_at: null)", () => {
    expect(JSON.parse(toKafkaMessage(row, "s").value).data.stopped_at).toBeNull();
  });
});

describe("cloudEventJson", () => {
  it("splices the database's JSON text into the same event as toCloudEvent", () => {
    const { data, ...rest } = row;
    // Postgres prints jsonb with a space after ':' and ','; still the same JSON.
    const dataJson =
      '{"container_id": "c0ffee", "image_id": 42, "host_port": 32768, "stopped_at": null}';
    const text = cloudEventJson({ ...rest, dataJson }, "orchestrator/o");
    expect(JSON.parse(text)).toEqual(toCloudEvent(row, "orchestrator/o"));
    expect(toKafkaMessage({ ...rest, dataJson }, "orchestrator/o").value).toBe(text);
  });
});

describe("the message's bytes", () => {
  const { data: _data, ...rest } = row;
  // Pinned text: the relay's encoding may get faster, never different.
  const expectedHeaders = {
    "content-type": "application/cloudevents+json",
    ce_specversion: "1.0",
    ce_id: "01890a5d-ac96-774b-bcce-b302099a8057",
    ce_source: "orchestrator/o",
    ce_type: "container.started",
    ce_subject: "containers/abc123",
    ce_time: "2025-03-04T05:06:07.089Z",
  };
  const envelopeText =
    '{"specversion":"1.0","id":"01890a5d-ac96-774b-bcce-b302099a8057","source":"orchestrator/o",' +
    '"type":"container.started","subject":"containers/abc123","time":"2025-03-04T05:06:07.089Z",' +
    '"datacontenttype":"application/json"';

  it("splices the database's JSON text unchanged after the envelope, in field order", () => {
    const dataJson = '{"name": "caf\u00e9 \\"quoted\\"", "image_id": 42, "stopped_at": null}';
    const message = toKafkaMessage({ ...rest, dataJson }, "orchestrator/o");
    expect(message.key).toBe("42");
    expect(message.value).toBe(`${envelopeText},"data":${dataJson}}`);
    expect(Object.entries(message.headers)).toEqual(Object.entries(expectedHeaders));
  });

  it("serializes parsed data the same way", () => {
    const message = toKafkaMessage({ ...rest, data: { a: 1, b: null } }, "orchestrator/o");
    expect(message.value).toBe(`${envelopeText},"data":{"a":1,"b":null}}`);
    expect(Object.entries(message.headers)).toEqual(Object.entries(expectedHeaders));
  });
});
