import { parseArgs } from "node:util";
import { CliError, type ClientSettings, callApi } from "./client.ts";

export const tokenHelp = `Usage: orchestrator token create --user NAME [--name LABEL]

Creates an API token for a user (the user is created when new) on the running server.
Needs the admin token: ORCHESTRATOR_TOKEN, ORCHESTRATOR_ADMIN_TOKEN, or DATA_DIR/admin-token.
The token is printed once on standard output.

Options:
  --user NAME    user name: lowercase letters, digits and '-'
  --name LABEL   a label for the token (default "default")
  -h, --help     show this help`;

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
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    out(tokenHelp);
    return 0;
  }
  if (positionals[0] !== "create")
    throw new CliError(`unknown token subcommand; see --help\n\n${tokenHelp}`);
  if (values.user === undefined) throw new CliError("--user NAME is required");
  const response = await callApi<{ token: string; user: string; user_id: string }>(
    await settings(),
    "POST",
    "/api/tokens",
    { user: values.user, ...(values.name === undefined ? {} : { name: values.name }) },
  );
  out(response.body.token);
  return 0;
}
