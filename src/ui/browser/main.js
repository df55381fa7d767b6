import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { currentSession, useCsrfToken } from "./api.js";
import { Dashboard } from "./dashboard.js";
import { html } from "./html.js";
import { Login } from "./login.js";

function Root() {
  const [session, setSession] = useState(null);
  useEffect(() => {
    currentSession().then((found) => setSession(found ?? false));
  }, []);
  if (session === null) return html`<main><p>Loading the dashboard…</p></main>`;
  if (session === false) return html`<${Login} onLoggedIn=${setSession} />`;
  useCsrfToken(session.csrf_token);
  return html`<${Dashboard} session=${session} onLoggedOut=${() => setSession(false)} />`;
}

render(html`<${Root} />`, document.getElementById("app"));
