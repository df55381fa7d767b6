import { z } from "zod";

/** Docker Hub's name for credentials of references without a registry host. */
export const dockerHubServer = "docker.io";

/**
 * The registry a reference is pulled from, as Docker decides it: the first path component when
 * it looks like a host (has a '.' or a ':', or is `localhost`), Docker Hub otherwise.
 */
export function registryHostOf(reference: string): string {
  const slash = reference.indexOf("/");
  if (slash < 0) return dockerHubServer;
  const first = reference.slice(0, slash);
  if (first.includes(".") || first.includes(":") || first === "localhost") {
    const host = first.toLowerCase();
    return host === "index.docker.io" || host === "registry-1.docker.io" ? dockerHubServer : host;
  }
  return dockerHubServer;
}

/**
 * A registry server as users write it (`registry.example.com`, `127.0.0.1:5000`,
 * `https://registry.example.com/`): the host and port it matches references by.
 */
export const registryServer = z
  .string()
  .trim()
  .max(255)
  .transform((value) =>
    value
      .replace(/^https?:\/\//i, "")
      .replace(/\/+$/, "")
      .toLowerCase(),
  )
  .pipe(
    z
      .string()
      .regex(
        /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/,
        {
          message: 'must be a registry host like "registry.example.com" or "127.0.0.1:5000"',
        },
      ),
  )
  .transform((host) =>
    host === "index.docker.io" || host === "registry-1.docker.io" ? dockerHubServer : host,
  );
