import { useEffect, useState } from "preact/hooks";
import { api } from "./api.js";
import { html } from "./html.js";

/** For the admin: every user, every token (never their secrets), and each user's quota. */
export function AdminPanel() {
  const [users, setUsers] = useState([]);
  const [tokens, setTokens] = useState([]);
  const [quotas, setQuotas] = useState({});
  useEffect(() => {
    (async () => {
      const [userPage, tokenPage] = await Promise.all([
        api("GET", "/api/users"),
        api("GET", "/api/tokens"),
      ]);
      setUsers(userPage.items);
      setTokens(tokenPage.items);
      const views = await Promise.all(
        userPage.items.map((user) =>
          api("GET", `/api/quota?user=${encodeURIComponent(user.name)}`).catch(() => undefined),
        ),
      );
      setQuotas(Object.fromEntries(views.filter(Boolean).map((view) => [view.user, view])));
    })().catch(() => {});
  }, []);
  return html`
    <section class="admin" aria-labelledby="admin-heading">
      <h2 id="admin-heading">Administration</h2>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Users and quotas">
        <table>
          <caption>Users and quotas (used / limit)</caption>
          <thead><tr><th scope="col">User</th><th scope="col">Quota</th></tr></thead>
          <tbody>
            ${users.map(
              (user) => html`<tr key=${user.id}>
                <th scope="row">${user.name}</th>
                <td>${quotaText(quotas[user.name])}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Tokens">
        <table>
          <caption>Tokens</caption>
          <thead>
            <tr><th scope="col">Name</th><th scope="col">User</th><th scope="col">Scope</th>
              <th scope="col">Expires</th></tr>
          </thead>
          <tbody>
            ${tokens.map(
              (token) => html`<tr key=${token.id}>
                <th scope="row">${token.name}</th><td>${token.user}</td><td>${token.scope}</td>
                <td>${token.expires_at?.slice(0, 10) ?? "never"}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </section>
  `;
}

function quotaText(view) {
  if (view === undefined) return "—";
  return Object.entries(view.limits)
    .map(
      ([name, limit]) => `${name.replaceAll("_", " ")} ${view.usage[name] ?? 0} / ${limit ?? "∞"}`,
    )
    .join(", ");
}
