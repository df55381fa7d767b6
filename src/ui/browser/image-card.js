import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "./api.js";
import { BuildLog } from "./build-log.js";
import { html } from "./html.js";
import { InstanceTable } from "./instance-table.js";

const building = (status) => status === "building" || status === "pending";

export function ImageCard({ image, instances, samples, act }) {
  const headingId = `image-${image.id}-name`;
  return html`
    <article class="card" aria-labelledby=${headingId} data-image=${image.name}>
      <header class="card-head">
        <h3 id=${headingId}>${image.name}</h3>
        <span class="badge status-${image.status}" data-testid="image-status">${image.status}</span>
        <span class="meta">
          ${revision(image)} · ${image.image ?? `${image.source_type} ${image.tag}`}
        </span>
      </header>
      <${Conditions} conditions=${image.conditions} />
      <${ImageActions} image=${image} act=${act} />
      ${image.source_type === "upload" && html`<${BuildSection} image=${image} />`}
      <${InstanceTable} instances=${instances} samples=${samples} act=${act} />
    </article>
  `;
}

/**
 * The build log, opened when a build starts or fails and left as the user sets it after that
 * (a finished build does not snatch away the log someone is reading).
 */
function BuildSection({ image }) {
  const running = building(image.status);
  const failed = image.status === "build_failed";
  const [open, setOpen] = useState(running || failed);
  useEffect(() => {
    if (running || failed) setOpen(true);
  }, [running, failed]);
  return html`
    <details class="build" open=${open} onToggle=${(event) => setOpen(event.currentTarget.open)}>
      <summary>Build log</summary>
      <${BuildLog} imageId=${image.id} key=${`${image.id}-${running}`} />
    </details>
  `;
}

function Conditions({ conditions }) {
  if (conditions.length === 0) return null;
  return html`
    <ul class="conditions" aria-label="Conditions">
      ${conditions.map(
        (condition) => html`<li key=${condition.type} class=${conditionClass(condition)}
          title=${condition.message}>
          ${condition.type}: ${condition.status} <span class="reason">${condition.reason}</span>
          ${condition.message && html`<span class="message"> — ${condition.message}</span>`}
        </li>`,
      )}
    </ul>
  `;
}

function revision(image) {
  const observed = image.observed_generation;
  return `revision ${image.generation}${observed === image.generation ? "" : ` (observed ${observed})`}`;
}

/** Ready is good when True, Degraded bad when True; Progressing is neither. */
function conditionClass({ type, status }) {
  if (status === "Unknown" || type === "Progressing") return "condition-neutral";
  return (status === "True") === (type === "Ready") ? "condition-good" : "condition-bad";
}

function ImageActions({ image, act }) {
  const [desired, setDesired] = useState(String(image.desired_instances));
  const dialog = useRef(null);
  const id = `scale-${image.id}`;
  const scale = (event) => {
    event.preventDefault();
    act(`Scale ${image.name} to ${desired}`, () =>
      api("PATCH", `/api/images/${image.id}`, { desired_instances: Number(desired) }),
    );
  };
  const remove = () => {
    dialog.current?.close();
    act(`Delete ${image.name}`, () => api("DELETE", `/api/images/${image.id}`));
  };
  return html`
    <div class="actions">
      <form class="scale" onSubmit=${scale}>
        <label for=${id}>Instances (min ${image.min_instances}, max ${image.max_instances})</label>
        <input id=${id} type="number" min=${image.min_instances} max=${image.max_instances}
          value=${desired} onInput=${(event) => setDesired(event.currentTarget.value)} />
        <button type="submit">Scale</button>
      </form>
      ${
        image.source_type === "upload" &&
        html`<button type="button" onClick=${() =>
          act(`Rebuild ${image.name}`, () => api("POST", `/api/images/${image.id}/rebuild`))}>
        Rebuild
      </button>`
      }
      <button type="button" title="Run the previous revision again" onClick=${() =>
        act(`Roll back ${image.name}`, () => api("POST", `/api/images/${image.id}/rollback`))}>
        Roll back
      </button>
      <button type="button" aria-pressed=${image.rollout_paused ? "true" : "false"} onClick=${() =>
        act(`${image.rollout_paused ? "Resume" : "Pause"} the rollout of ${image.name}`, () =>
          api(
            "POST",
            `/api/images/${image.id}/rollout/${image.rollout_paused ? "resume" : "pause"}`,
          ),
        )}>
        ${image.rollout_paused ? "Resume rollout" : "Pause rollout"}
      </button>
      <button type="button" class="danger" onClick=${() => dialog.current?.showModal()}>
        Delete…
      </button>
      <dialog ref=${dialog} aria-labelledby=${`${id}-confirm`}>
        <p id=${`${id}-confirm`}>Delete ${image.name} and all its instances?</p>
        <button type="button" class="danger" onClick=${remove}>Delete ${image.name}</button>
        <button type="button" onClick=${() => dialog.current?.close()}>Cancel</button>
      </dialog>
    </div>
  `;
}
