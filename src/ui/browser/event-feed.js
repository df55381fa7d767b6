import { html } from "./html.js";

/** The newest events first, as the stream brings them. */
export function EventFeed({ events }) {
  return html`
    <section class="events" aria-labelledby="events-heading">
      <h2 id="events-heading">Events</h2>
      ${events.length === 0 && html`<p class="hint">Waiting for events…</p>`}
      <ol class="event-list" tabindex="0" aria-labelledby="events-heading" data-testid="events">
        ${events.map(
          (event) => html`<li key=${event.id}>
            <time datetime=${event.time}>${new Date(event.time).toLocaleTimeString()}</time>
            <span class="event-type">${event.type}</span>
            <span class="meta">${describe(event)}</span>
          </li>`,
        )}
      </ol>
    </section>
  `;
}

function describe(event) {
  const data = event.data ?? {};
  const parts = [data.name ?? data.image ?? `image ${event.image_id ?? ""}`];
  if (data.reason) parts.push(data.reason);
  return parts.join(" · ");
}
