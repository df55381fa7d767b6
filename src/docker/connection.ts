import Dockerode from "dockerode";

export type DockerClient = Dockerode;

export const defaultDockerSocket = "/var/run/docker.sock";

/** dockerode options for a DOCKER_HOST value: unix socket, tcp (http) or ssh. Pure. */
export function dockerOptions(dockerHost: string | undefined): Dockerode.DockerOptions {
  if (dockerHost === undefined || dockerHost === "") return { socketPath: defaultDockerSocket };
  if (dockerHost.startsWith("/")) return { socketPath: dockerHost };
  const url = new URL(dockerHost);
  switch (url.protocol) {
    case "unix:":
      return { socketPath: url.pathname || defaultDockerSocket };
    case "tcp:":
    case "http:":
      return { protocol: "http", host: url.hostname, port: Number(url.port || 2375) };
    case "https:":
      return { protocol: "https", host: url.hostname, port: Number(url.port || 2376) };
    case "ssh:":
      return {
        protocol: "ssh",
        host: url.hostname,
        port: Number(url.port || 22),
        ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      };
    default:
      throw new Error(`unsupported DOCKER_HOST scheme ${url.protocol}`);
  }
}

export function describeDockerHost(dockerHost: string | undefined): string {
  return dockerHost === undefined || dockerHost === ""
    ? `unix://${defaultDockerSocket}`
    : dockerHost;
}

export function connectDocker(dockerHost: string | undefined): DockerClient {
  return new Dockerode({ ...dockerOptions(dockerHost), timeout: 0 });
}

/** A one-line explanation of why the engine did not answer. */
export function explainDockerError(error: unknown, dockerHost: string | undefined): string {
  const where = describeDockerHost(dockerHost);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES") {
    return `Docker engine unreachable at ${where} (${code}): is dockerd running and is the socket readable?`;
  }
  if (code === "ETIMEDOUT" || /timeout/i.test(message)) {
    return `Docker engine at ${where} did not answer in time`;
  }
  return `Docker engine at ${where} failed: ${message}`;
}
