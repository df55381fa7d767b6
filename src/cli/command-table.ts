/**
 * Every command of `orchestrator`, for the main help and the shell completion scripts: its
 * summary, the words that may follow it (kinds, sub-commands) and its flags. Each command's
 * own `--help` says the rest.
 */
export type CommandEntry = {
  readonly name: string;
  readonly summary: string;
  readonly words?: readonly string[];
  readonly flags: readonly string[];
};

export const commandTable: readonly CommandEntry[] = [
  {
    name: "serve",
    summary: "start the service (same as npm start); configured by environment variables",
    flags: ["--watch", "--set", "--prune", "--allow-empty"],
  },
  {
    name: "apply",
    summary: "apply desired-state files (-f FILE_OR_FOLDER); --prune, --wait, --watch",
    flags: [
      "-f",
      "--filename",
      "--set",
      "--prune",
      "--allow-empty",
      "--dry-run",
      "--wait",
      "--timeout",
      "--watch",
    ],
  },
  {
    name: "diff",
    summary: "show what apply would change; exit 0 nothing, 1 something, 2 errors",
    flags: ["-f", "--filename", "--set", "--prune", "--allow-empty"],
  },
  {
    name: "get",
    summary: "list images or containers (-o table|wide|json|yaml)",
    words: ["images", "containers"],
    flags: ["-o", "--output"],
  },
  {
    name: "describe",
    summary: "show one image or container: spec, conditions, instances, events",
    words: ["image", "container"],
    flags: [],
  },
  {
    name: "logs",
    summary: "print an instance's output, or every instance of an image (-f follows)",
    flags: ["-f", "--follow", "--since", "--tail", "--prefix"],
  },
  {
    name: "events",
    summary: "print the latest events (-w watches for new ones)",
    flags: ["-w", "--watch", "--image", "--type", "--limit", "-o", "--output"],
  },
  {
    name: "scale",
    summary: "set how many instances an image runs: scale NAME --instances N",
    flags: ["--instances"],
  },
  {
    name: "rollout",
    summary: "an image's revisions: rollout status|history|undo|pause|resume IMAGE",
    words: ["status", "history", "undo", "pause", "resume"],
    flags: ["--to-revision", "--timeout", "-o", "--output"],
  },
  { name: "start", summary: "start a stopped instance", flags: [] },
  { name: "stop", summary: "stop an instance", flags: [] },
  { name: "restart", summary: "restart an instance's container", flags: [] },
  {
    name: "top",
    summary: "CPU and memory of running instances, from the latest samples",
    flags: ["-o", "--output"],
  },
  {
    name: "build-logs",
    summary: "print an image's build log (-f follows the build)",
    flags: ["-f", "--follow"],
  },
  {
    name: "delete",
    summary: "delete the images named by files (-f) or by name",
    words: ["images"],
    flags: ["-f", "--filename", "--ignore-not-found", "--wait", "--timeout"],
  },
  {
    name: "export",
    summary: "write your images as desired-state files that apply accepts",
    flags: ["--output-directory", "-o", "--output", "--set"],
  },
  {
    name: "user",
    summary: "create or list users (admin): user create NAME, user list",
    words: ["create", "list"],
    flags: [],
  },
  {
    name: "token",
    summary: "create, list or revoke API tokens: token create|list|revoke",
    words: ["create", "list", "revoke"],
    flags: ["--user", "--name", "--scope", "--expires", "-o", "--output"],
  },
  {
    name: "claim",
    summary: "claim an instance of a pooled image for a key: claim KEY --image NAME",
    flags: ["--image", "--wait", "-o", "--output"],
  },
  { name: "release", summary: "release what a key holds: release KEY", flags: ["--image"] },
  {
    name: "context",
    summary: "saved servers and tokens: context set|use|list|delete",
    words: ["set", "use", "list", "delete"],
    flags: [],
  },
  {
    name: "version",
    summary: "this command's version and the server's",
    flags: ["--client", "-o", "--output"],
  },
  {
    name: "completion",
    summary: "print a shell completion script: completion bash|zsh|fish",
    words: ["bash", "zsh", "fish"],
    flags: [],
  },
  {
    name: "router",
    summary: "route app_hostname traffic to ready instances, from the event stream",
    flags: ["--listen", "--source", "--brokers", "--topic", "--wake", "--wake-timeout"],
  },
];

/** Flags every client command takes. */
export const globalFlags: readonly string[] = ["--server", "--token", "--context", "--help"];
