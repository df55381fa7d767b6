import { parseArgs } from "node:util";
import { CliError, type ClientSettings, callApi } from "./client.ts";
import { formatTable } from "./table.ts";

export const userHelp = `Usage: orchestrator user create NAME
       orchestrator user list [-o table|json]

Users are created explicitly by the admin; then "orchestrator token create --user NAME" gives
them a token. Needs the admin token: ORCHESTRATOR_TOKEN, ORCHESTRATOR_ADMIN_TOKEN, or
DATA_DIR/admin-token.

Options:
  -o, --output F   table (default) or json
  -h, --help       show this help`;

type UserView = { readonly id: string; readonly name: string; readonly created_at: string | null };

export async function userCommand(
  args: readonly string[],
  settings: () => Promise<ClientSettings>,
  out: (line: string) => void,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { output: { type: "string", short: "o" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
  if (values.help) {
    out(userHelp);
    return 0;
  }
  const [subcommand, name] = positionals;
  if (subcommand === "create") {
    if (name === undefined) throw new CliError("user create NAME: give the user's name");
    const response = await callApi<UserView>(await settings(), "POST", "/api/users", { name });
    out(`user ${response.body.name} created (id ${response.body.id})`);
    return 0;
  }
  if (subcommand === "list") {
    const response = await callApi<{ items: UserView[] }>(await settings(), "GET", "/api/users");
    if (values.output === "json") {
      out(JSON.stringify(response.body, null, 2));
      return 0;
    }
    const rows = response.body.items.map((user) => [user.id, user.name, user.created_at ?? ""]);
    for (const line of formatTable(["ID", "NAME", "CREATED"], rows)) out(line);
    return 0;
  }
  throw new CliError(`unknown user subcommand; see --help\n\n${userHelp}`);
}
