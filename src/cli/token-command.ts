import { parseArgs } from "node:util";
import { CliError, type ClientSettings, callApi } from "./client.ts";
import { formatTable } from "./table.ts";

export const tokenHelp = `Usage: orchestrator token create [--user NAME] [--name LABEL] [--scope SCOPE] [--expires 30d]
       orchestrator token list [--user NAME] [-o table|json]
       orchestrator token revoke ID

create   a token for you, or (admin) for another user, who must exist (orchestrator user
         create); the token is printed once on standard output
list     your tokens (the admin: everyone's, or one user's with --user); never the secrets
revoke   revokes a token at once: it answers 401 from the next request on

The client's own token: --token, ORCHESTRATOR_TOKEN, the current context, or DATA_DIR/admin-token.

Options:
  --user NAME      whose token (default: yours)
  --name LABEL     a label for the token (default "default")
  --scope SCOPE    read (GET only), write (default) or admin (only the admin hands it out)
  --expires WHEN   lifetime, e.g. 30d, 12h (default: never)
  -o, --output F   table (default) or json
  -h, --help       show this help`;

type TokenView = {
  readonly id: number;
  readonly name: string;
  readonly user: string;
  readonly scope: string;
  readonly expires_at: string | null;
  readonly created_at: string | null;
  readonly last_used_at: string | null;
};

export async function tokenCommand(
  args: readonly string[],
  settings: () => Promise<ClientSettings>,
  out: (line: string) => void,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      user: { type: "string" },
      name: { type: "string" },
      scope: { type: "string" },
      expires: { type: "string" },
      output: { type: "string", short: "o" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    out(tokenHelp);
    return 0;
  }
  const [subcommand, ...rest] = positionals;
  if (subcommand === "create") {
    const response = await callApi<{ token: string }>(await settings(), "POST", "/api/tokens", {
      ...(values.user === undefined ? {} : { user: values.user }),
      ...(values.name === undefined ? {} : { name: values.name }),
      ...(values.scope === undefined ? {} : { scope: values.scope }),
      ...(values.expires === undefined ? {} : { expires_in: values.expires }),
    });
    out(response.body.token);
    return 0;
  }
  if (subcommand === "list") {
    const query = values.user === undefined ? "" : `?user=${encodeURIComponent(values.user)}`;
    const response = await callApi<{ items: TokenView[] }>(
      await settings(),
      "GET",
      `/api/tokens${query}`,
    );
    if (values.output === "json") {
      out(JSON.stringify(response.body, null, 2));
      return 0;
    }
    const rows = response.body.items.map((token) => [
      String(token.id),
      token.name,
      token.user,
      token.scope,
      token.expires_at ?? "never",
      token.last_used_at ?? "never",
    ]);
    for (const line of formatTable(["ID", "NAME", "USER", "SCOPE", "EXPIRES", "LAST USED"], rows))
      out(line);
    return 0;
  }
  if (subcommand === "revoke") {
    const id = rest[0];
    if (id === undefined || !/^[1-9]\d*$/.test(id))
      throw new CliError("token revoke ID: give the token's id (see token list)");
    await callApi(await settings(), "DELETE", `/api/tokens/${id}`);
    out(`token ${id} revoked`);
    return 0;
  }
  throw new CliError(`unknown token subcommand; see --help\n\n${tokenHelp}`);
}
