import { readFileSync } from "node:fs";
import { z } from "zod";
import { registryServer } from "../domain/registry-host.ts";

/**
 * Where built images are pushed (optional): `REGISTRY_URL` (`host[:port][/namespace]`) and its
 * credentials, `REGISTRY_USERNAME` and `REGISTRY_PASSWORD` (or `REGISTRY_PASSWORD_FILE`, read
 * once at start). Without `REGISTRY_URL` nothing is pushed.
 */
export type RegistrySettings = {
  /** The registry host (and port), as credentials are matched: `registry.example.com:5000`. */
  readonly server: string;
  /** Where repositories go: the host, and a namespace when given (`registry.example.com/team`). */
  readonly repositoryPrefix: string;
  readonly username: string | undefined;
  /** Never logged; hidden in configuration errors. */
  readonly password: string | undefined;
};

const namespace = z
  .string()
  .regex(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/, {
    message: "must be a registry namespace like team/apps (lowercase)",
  });

export const registryVariables = {
  REGISTRY_URL: z.string().trim().min(1).optional(),
  REGISTRY_USERNAME: z.string().min(1).max(255).optional(),
  REGISTRY_PASSWORD: z.string().min(1).max(4_096).optional(),
  REGISTRY_PASSWORD_FILE: z.string().trim().min(1).optional(),
} as const;

export const secretRegistryVariables: ReadonlySet<string> = new Set(["REGISTRY_PASSWORD"]);

type RegistryVariables = {
  readonly [Name in keyof typeof registryVariables]?: z.output<(typeof registryVariables)[Name]>;
};

/** The settings, or the problems (one line each, naming the variable). */
export function resolveRegistrySettings(
  variables: RegistryVariables,
  read: (path: string) => string = (path) => readFileSync(path, "utf8"),
): { readonly settings: RegistrySettings | undefined } | { readonly problems: string[] } {
  const problems: string[] = [];
  if (variables.REGISTRY_PASSWORD !== undefined && variables.REGISTRY_PASSWORD_FILE !== undefined) {
    problems.push("REGISTRY_PASSWORD and REGISTRY_PASSWORD_FILE: set one of them, not both");
  }
  let password = variables.REGISTRY_PASSWORD;
  if (variables.REGISTRY_PASSWORD_FILE !== undefined) {
    try {
      password = read(variables.REGISTRY_PASSWORD_FILE).replace(/\r?\n$/, "");
    } catch (error) {
      problems.push(
        `REGISTRY_PASSWORD_FILE=${JSON.stringify(variables.REGISTRY_PASSWORD_FILE)} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  }
  const url = variables.REGISTRY_URL;
  if (url === undefined) {
    if (variables.REGISTRY_USERNAME !== undefined || password !== undefined) {
      problems.push("REGISTRY_USERNAME and REGISTRY_PASSWORD need REGISTRY_URL (where to push)");
    }
    return problems.length > 0 ? { problems } : { settings: undefined };
  }
  if ((variables.REGISTRY_USERNAME === undefined) !== (password === undefined)) {
    problems.push(
      "REGISTRY_USERNAME and REGISTRY_PASSWORD (or REGISTRY_PASSWORD_FILE) go together",
    );
  }
  const bare = url.replace(/^https?:\/\//i, "").replace(/\/+$/, "");
  const slash = bare.indexOf("/");
  const host = registryServer.safeParse(slash < 0 ? bare : bare.slice(0, slash));
  const path = slash < 0 ? undefined : bare.slice(slash + 1);
  if (!host.success) {
    problems.push(
      `REGISTRY_URL=${JSON.stringify(url)} ${host.error.issues[0]?.message ?? "is not a registry"}`,
    );
  } else if (path !== undefined && !namespace.safeParse(path).success) {
    problems.push(
      `REGISTRY_URL=${JSON.stringify(url)} must be host[:port] or host[:port]/namespace (lowercase)`,
    );
  } else if (host.data === "docker.io" && path === undefined) {
    problems.push(`REGISTRY_URL=${JSON.stringify(url)} needs a namespace on Docker Hub`);
  }
  if (problems.length > 0 || !host.success) return { problems };
  return {
    settings: {
      server: host.data,
      repositoryPrefix: path === undefined ? host.data : `${host.data}/${path}`,
      username: variables.REGISTRY_USERNAME,
      password,
    },
  };
}
