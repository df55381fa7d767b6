import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";

/** The build's log, streamed line by line (`/api/images/{id}/build-logs?follow=1`) until it ends. */
export function BuildLog({ imageId }) {
  const [lines, setLines] = useState([]);
  const [outcome, setOutcome] = useState("");
  const box = useRef(null);
  useEffect(() => {
    const stream = new EventSource(`/api/images/${imageId}/build-logs?follow=1`);
    stream.addEventListener("log", (message) => setLines((all) => [...all, message.data]));
    stream.addEventListener("build", () => setLines([]));
    stream.addEventListener("end", (message) => {
      setOutcome(message.data);
      stream.close();
    });
    return () => stream.close();
  }, [imageId]);
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines]);
  return html`
    <section class="build-log">
      ${outcome && html`<p class="meta">Build ended: ${summary(outcome)}</p>`}
      <pre ref=${box} tabindex="0" aria-label="Build log" data-testid="build-log">${lines.join("\n")}</pre>
    </section>
  `;
}

function summary(data) {
  try {
    const parsed = JSON.parse(data);
    return parsed.status ?? parsed.outcome ?? data;
  } catch {
    return data;
  }
}
