import { api } from "./api.js";
import { html } from "./html.js";
import { Sparkline } from "./sparkline.js";

export function InstanceTable({ instances, samples, act }) {
  if (instances.length === 0) return html`<p class="hint">No instances.</p>`;
  return html`
    <div class="table-wrap" tabindex="0" role="region" aria-label="Instances">
      <table class="instances">
        <caption class="visually-hidden">Instances</caption>
        <thead>
          <tr>
            <th scope="col">Instance</th><th scope="col">State</th><th scope="col">Port</th>
            <th scope="col">Health</th><th scope="col">Restarts</th>
            <th scope="col">CPU</th><th scope="col">Memory</th><th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          ${instances.map(
            (instance) => html`<${InstanceRow} key=${instance.id} instance=${instance}
              samples=${samples[instance.id] ?? []} act=${act} />`,
          )}
        </tbody>
      </table>
    </div>
  `;
}

function InstanceRow({ instance, samples, act }) {
  const short = instance.id.slice(0, 8);
  const state =
    instance.desired_state === instance.observed_state || instance.observed_state === null
      ? (instance.observed_state ?? "pending")
      : `${instance.observed_state} → ${instance.desired_state}`;
  const address = `http://${location.hostname}:${instance.host_port}/`;
  const call = (verb) => () =>
    act(`${verb} ${short}`, () => api("POST", `/api/containers/${instance.id}/${verb}`));
  return html`
    <tr data-instance=${instance.id}>
      <th scope="row"><code title=${instance.name}>${short}</code></th>
      <td data-label="State" data-testid="state">${state}</td>
      <td data-label="Port">
        ${
          instance.host_port === null
            ? "—"
            : html`<a href=${address} target="_blank" rel="noopener noreferrer">${instance.host_port}</a>`
        }
      </td>
      <td data-label="Health">${instance.health ?? "—"}</td>
      <td data-label="Restarts" data-testid="restarts">${instance.restart_count}</td>
      <td data-label="CPU"><${Sparkline} label="CPU" values=${samples.map((sample) => sample.cpu_usage)} /></td>
      <td data-label="Memory"><${Sparkline} label="Memory" values=${samples.map((sample) => sample.memory_usage)} /></td>
      <td class="row-actions">
        <button type="button" onClick=${call("start")} aria-label=${`Start ${short}`}>Start</button>
        <button type="button" onClick=${call("stop")} aria-label=${`Stop ${short}`}>Stop</button>
        <button type="button" onClick=${call("restart")} aria-label=${`Restart ${short}`}>Restart</button>
      </td>
    </tr>
  `;
}
