import { useState } from "preact/hooks";
import { api } from "./api.js";
import { html } from "./html.js";
import { sourceFromDrop, sourceFromFolderInput } from "./source-drop.js";

/** Two ways to add an image: from a reference the engine has, or from uploaded source. */
export function CreateImage({ act }) {
  return html`
    <div class="create">
      <details>
        <summary>Create from an image reference</summary>
        <${FromReference} act=${act} />
      </details>
      <details open>
        <summary>Upload source</summary>
        <${FromSource} act=${act} />
      </details>
    </div>
  `;
}

/** The fields both forms share, as the API names them. */
function ScaleFields({ prefix }) {
  const field = (name, label, value) => html`
    <div class="field">
      <label for=${`${prefix}-${name}`}>${label}</label>
      <input id=${`${prefix}-${name}`} name=${name} type="number" min="0" value=${value} required />
    </div>
  `;
  return html`
    <div class="grid">
      ${field("container_port", "Container port", "8080")}
      ${field("min_instances", "Minimum instances", "1")}
      ${field("max_instances", "Maximum instances", "3")}
      ${field("desired_instances", "Desired instances", "1")}
    </div>
  `;
}

const numbers = ["container_port", "min_instances", "max_instances", "desired_instances"];

function FromReference({ act }) {
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body = Object.fromEntries(form);
    for (const name of numbers) body[name] = Number(body[name]);
    act(`Create ${body.name}`, () => api("POST", "/api/images", body));
  };
  return html`
    <form onSubmit=${submit} class="stack">
      <label for="ref-name">Name</label>
      <input id="ref-name" name="name" required pattern="[a-z0-9][a-z0-9-]*" />
      <label for="ref-image">Image reference</label>
      <input id="ref-image" name="image" required placeholder="registry/app:1.2" />
      <${ScaleFields} prefix="ref" />
      <button type="submit">Create</button>
    </form>
  `;
}

function FromSource({ act }) {
  const [source, setSource] = useState(null);
  const [over, setOver] = useState(false);
  const [problem, setProblem] = useState("");
  const take = async (getSource) => {
    try {
      setSource(await getSource());
      setProblem("");
    } catch (failure) {
      setProblem(failure.message);
    }
  };
  const drop = (event) => {
    event.preventDefault();
    setOver(false);
    take(() => sourceFromDrop(event.dataTransfer));
  };
  const submit = (event) => {
    event.preventDefault();
    if (source === null) {
      setProblem("drop a folder or an archive first");
      return;
    }
    const form = new FormData(event.currentTarget);
    form.delete("archive");
    form.delete("folder");
    form.append("file", source, source.name);
    act(`Upload ${form.get("name")}`, () => api("POST", "/api/images", form));
  };
  return html`
    <form onSubmit=${submit} class="stack">
      <label for="src-name">Name</label>
      <input id="src-name" name="name" required pattern="[a-z0-9][a-z0-9-]*" />
      <label for="src-tag">Tag</label>
      <input id="src-tag" name="tag" value="v1" required />
      <${ScaleFields} prefix="src" />
      <div class="drop ${over ? "over" : ""}" onDragOver=${(event) => {
        event.preventDefault();
        setOver(true);
      }} onDragLeave=${() => setOver(false)} onDrop=${drop}>
        <p>Drop a folder with a Dockerfile, or a zip / tar / tar.gz, here; or pick one:</p>
        <label for="src-archive">Archive</label>
        <input id="src-archive" name="archive" type="file" accept=".zip,.tar,.tgz,.gz"
          onChange=${(event) => {
            const picked = event.currentTarget.files[0];
            take(async () => picked);
          }} />
        <label for="src-folder">Folder</label>
        <input id="src-folder" name="folder" type="file" webkitdirectory
          onChange=${(event) => {
            const picked = event.currentTarget.files;
            take(() => sourceFromFolderInput(picked));
          }} />
        <p class="meta" data-testid="source-picked">
          ${source ? `Ready: ${source.name} (${source.size} bytes)` : "Nothing picked yet"}
        </p>
        ${problem && html`<p role="alert" class="error">${problem}</p>`}
      </div>
      <button type="submit">Upload and build</button>
    </form>
  `;
}
