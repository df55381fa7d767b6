import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "./api.js";

const keptEvents = 100;
const keptSamples = 30;

/**
 * What the page shows, kept live by the API's event stream (`/api/events?follow=1&metrics=1`):
 * every event is a hint to read the images and instances again (level-triggered, like the
 * controller); resource samples extend the sparklines. No polling, no reloads.
 */
export function useLiveState() {
  const [images, setImages] = useState([]);
  const [instances, setInstances] = useState([]);
  const [events, setEvents] = useState([]);
  const [samples, setSamples] = useState({});
  const [connected, setConnected] = useState(false);
  const [error, setError] = useState("");
  const pending = useRef(undefined);
  const known = useRef(new Set());

  const refresh = async () => {
    try {
      const [imagePage, instancePage] = await Promise.all([
        api("GET", "/api/images"),
        api("GET", "/api/containers"),
      ]);
      setImages(imagePage.items);
      setInstances(instancePage.items);
      setError("");
      for (const instance of instancePage.items) loadHistory(instance.id);
    } catch (failure) {
      setError(failure.message);
    }
  };

  const refreshSoon = () => {
    clearTimeout(pending.current);
    pending.current = setTimeout(refresh, 150);
  };

  const addSamples = (instanceId, added) =>
    setSamples((all) => ({
      ...all,
      [instanceId]: [...(all[instanceId] ?? []), ...added].slice(-keptSamples),
    }));

  const loadHistory = async (instanceId) => {
    if (known.current.has(instanceId)) return;
    known.current.add(instanceId);
    const since = new Date(Date.now() - 60 * 60 * 1000).toISOString();
    const history = await api(
      "GET",
      `/api/containers/${instanceId}/health/history?since=${encodeURIComponent(since)}`,
    ).catch(() => ({ items: [] }));
    addSamples(instanceId, history.items);
  };

  useEffect(() => {
    refresh();
    const stream = new EventSource("/api/events?follow=1&metrics=1");
    stream.onopen = () => setConnected(true);
    stream.onerror = () => setConnected(false);
    stream.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "metrics") {
        addSamples(data.instance_id, [data]);
        return;
      }
      setEvents((all) => [data, ...all].slice(0, keptEvents));
      refreshSoon();
    };
    return () => stream.close();
  }, []);

  return { images, instances, events, samples, connected, error, refresh };
}
