import { useState } from "preact/hooks";
import { AdminPanel } from "./admin-panel.js";
import { api } from "./api.js";
import { CreateImage } from "./create-image.js";
import { EventFeed } from "./event-feed.js";
import { html } from "./html.js";
import { ImageCard } from "./image-card.js";
import { useLiveState } from "./live-state.js";

export function Dashboard({ session, onLoggedOut }) {
  const live = useLiveState();
  const [notice, setNotice] = useState("");
  const logout = async () => {
    await api("POST", "/ui/logout").catch(() => {});
    onLoggedOut();
  };
  /** Runs an action; its failure (problem+json detail) is announced, its success refreshes. */
  const act = async (what, action) => {
    try {
      await action();
      setNotice(`${what}: done`);
      live.refresh();
    } catch (failure) {
      setNotice(`${what} failed: ${failure.message}`);
    }
  };
  return html`
    <header class="top">
      <h1>Orchestrator</h1>
      <span class="stream ${live.connected ? "on" : "off"}">
        ${live.connected ? "Live" : "Reconnecting…"}
      </span>
      <span class="who">${session.user}${session.admin ? " (admin)" : ""}</span>
      <button type="button" onClick=${logout}>Log out</button>
    </header>
    <p class="notice" role="status" aria-live="polite">${notice || live.error}</p>
    <main class="layout">
      <section class="images" aria-labelledby="images-heading">
        <h2 id="images-heading">Images</h2>
        <${CreateImage} act=${act} />
        ${live.images.length === 0 && html`<p class="hint">No images yet.</p>`}
        <ul class="cards">
          ${live.images.map(
            (image) => html`<li key=${image.id}>
              <${ImageCard}
                image=${image}
                instances=${live.instances.filter((instance) => instance.image_id === image.id)}
                samples=${live.samples}
                act=${act}
              />
            </li>`,
          )}
        </ul>
      </section>
      <${EventFeed} events=${live.events} />
      ${session.admin && html`<${AdminPanel} act=${act} />`}
    </main>
  `;
}
