import { useState } from "preact/hooks";
import { html } from "./html.js";

export function Login({ onLoggedIn }) {
  const [error, setError] = useState("");
  const submit = async (event) => {
    event.preventDefault();
    const token = new FormData(event.currentTarget).get("token");
    const response = await fetch("/ui/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) setError(body.detail ?? "that token was not accepted");
    else onLoggedIn(body);
  };
  return html`
    <main class="login">
      <h1>Orchestrator</h1>
      <form onSubmit=${submit}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password"
          aria-describedby="login-help" required />
        <p id="login-help" class="hint">
          Your token is kept in a cookie that scripts on this page cannot read.
        </p>
        <button type="submit">Log in</button>
        ${error && html`<p role="alert" class="error">${error}</p>`}
      </form>
    </main>
  `;
}
