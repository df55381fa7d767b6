import { pack } from "tar-stream";
import type { DockerClient } from "../../src/docker/connection.ts";

/** The busybox image every test app is built FROM (there is no registry on CI machines). */
export const testBaseImage = "orchestrator-test/busybox:latest";

/** Small apps made from the busybox base, for tests (no registry: built here, once). */
export const testImages = {
  /** `busybox httpd` on 8080 serving /www; answers /index.html with "ok". */
  httpd: "orchestrator-test/httpd:latest",
  /** Exits with code 3 right after it starts. */
  crasher: "orchestrator-test/crasher:latest",
  /** httpd on 8080 whose /cgi-bin/health never answers: a hung health endpoint. */
  hang: "orchestrator-test/hang:latest",
  /** Allocates 64 MiB at once as PID 1: OOM-killed under a small memory limit. */
  hog: "orchestrator-test/hog:latest",
  /**
   * httpd on 8080 whose /cgi-bin/burn keeps one CPU busy for 4 s, then answers "burnt": load
   * that a small cpu_limit turns into a high share of the limit (the autoscaler's test).
   */
  burner: "orchestrator-test/burner:latest",
  /**
   * httpd on 8080 whose /cgi-bin/slow sends its headers and "start" at once, then after 0.3 s
   * "version=$VERSION host=$HOSTNAME": a request in flight for a while, served by a known
   * container, whose cut shows as a short body (the router's rollout test).
   */
  slow: "orchestrator-test/slow:latest",
} as const;

const dockerfiles: Record<keyof typeof testImages, string> = {
  httpd: `FROM ${testBaseImage}\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
  crasher: `FROM ${testBaseImage}\nCMD ["sh", "-c", "echo dying; exit 3"]\n`,
  hang: `FROM ${testBaseImage}\nRUN mkdir -p /www/cgi-bin && printf '#!/bin/sh\\nsleep 3600\\n' > /www/cgi-bin/health && chmod +x /www/cgi-bin/health\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
  hog: `FROM ${testBaseImage}\nCMD ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]\n`,
  burner: `FROM ${testBaseImage}\nCOPY burn /www/cgi-bin/burn\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
  slow: `FROM ${testBaseImage}\nCOPY slow /www/cgi-bin/slow\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
};

/** Files beside an image's Dockerfile (executable), by image. */
const executables: Partial<Record<keyof typeof testImages, Record<string, Buffer>>> = {
  burner: {
    burn: Buffer.from(
      [
        "#!/bin/sh",
        "# Busy for 4 s (a shell loop, no I/O), then a CGI answer.",
        "sh -c 'while :; do :; done' &",
        "busy=$!",
        "sleep 4",
        "kill $busy",
        "printf 'Content-Type: text/plain\\r\\n\\r\\nburnt\\n'",
        "",
      ].join("\n"),
    ),
  },
  slow: {
    slow: Buffer.from(
      [
        "#!/bin/sh",
        "printf 'Content-Type: text/plain\\r\\n\\r\\nstart\\n'",
        "sleep 0.3",
        'echo "version=$VERSION host=$HOSTNAME"',
        "",
      ].join("\n"),
    ),
  },
};

/** Builds `tag` from a Dockerfile and, optionally, executable files beside it in the context. */
export async function buildTestImage(
  docker: DockerClient,
  tag: string,
  dockerfile: string,
  executables: Readonly<Record<string, Buffer>> = {},
): Promise<void> {
  const context = pack();
  context.entry({ name: "Dockerfile" }, dockerfile);
  for (const [name, content] of Object.entries(executables)) {
    context.entry({ name, mode: 0o755 }, content);
  }
  context.finalize();
  const stream = await docker.buildImage(context as never, { t: tag, rm: true, forcerm: true });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: Array<{ error?: string }>) => {
        const failed = events?.find((event) => event.error !== undefined);
        if (error !== null || failed !== undefined) reject(error ?? new Error(failed?.error));
        else resolve();
      },
    ),
  );
}

export async function ensureTestImages(docker: DockerClient): Promise<void> {
  for (const [name, tag] of Object.entries(testImages) as Array<
    [keyof typeof testImages, string]
  >) {
    try {
      await docker.getImage(tag).inspect();
    } catch {
      await buildTestImage(docker, tag, dockerfiles[name], executables[name]);
    }
  }
}
