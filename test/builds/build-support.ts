import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { labelKeys } from "../../src/domain/labels.ts";
import { type TarFixtureEntry, tarBuffer, zipBuffer } from "../archive/archive-fixtures.ts";
import { testBaseImage } from "../support/base-image.ts";
import { docker } from "../support/docker-helpers.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

export type ArchiveFormat = "zip" | "tar" | "tar.gz";

export type AppFile = { readonly name: string; readonly content: string };

/** A web app: `GET /index.html` answers `body`. `steps` go before CMD (RUN lines). */
export function webApp(body: string, steps = ""): AppFile[] {
  return [
    {
      name: "Dockerfile",
      content: `FROM ${testBaseImage}\nCOPY index.html /www/index.html\n${steps}CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
    },
    { name: "index.html", content: body },
  ];
}

/** The files as a zip, tar or tar.gz, optionally inside one top-level folder (as GitHub does). */
export async function archiveOf(
  format: ArchiveFormat,
  files: readonly AppFile[],
  folder?: string,
): Promise<Buffer> {
  const named = files.map((file) => ({
    name: folder === undefined ? file.name : `${folder}/${file.name}`,
    content: file.content,
  }));
  if (format === "zip") return zipBuffer(named);
  const entries: TarFixtureEntry[] = [
    ...(folder === undefined ? [] : [{ name: `${folder}/`, type: "directory" as const }]),
    ...named,
  ];
  return tarBuffer(entries, { gzip: format === "tar.gz" });
}

export const contentTypes: Record<ArchiveFormat, string> = {
  zip: "application/zip",
  tar: "application/x-tar",
  "tar.gz": "application/gzip",
};

/**
 * A test server whose built tags cannot collide with another suite's (ids restart at 1); its
 * stop also removes the images it built.
 */
export async function startBuildServer(options: TestServerOptions = {}): Promise<TestServer> {
  const orchestratorId = testOrchestratorId("bt");
  const server = await startTestServer({
    orchestratorId,
    ...options,
    env: { IMAGE_NAME_PREFIX: orchestratorId, ...options.env },
  });
  return {
    ...server,
    stop: async () => {
      await server.stop();
      await removeBuiltImages(server.orchestratorId);
    },
  };
}

/**
 * The tag the server gave the build of `imageId` with `tag`: `{prefix}-u{user}-i{image}-{token}`
 * where the token is random (nobody else may name the build), found by the image's labels.
 */
export async function builtTag(
  server: TestServer,
  imageId: number,
  tag: string,
  userId = 1,
): Promise<string> {
  const images = await docker.listImages({
    filters: {
      label: [`${labelKeys.managedBy}=${server.orchestratorId}`, `${labelKeys.imageId}=${imageId}`],
    },
  });
  const pattern = new RegExp(
    `^${server.orchestratorId}-u${userId}-i${imageId}-[0-9a-f]{32}:${tag}$`,
  );
  const found = images.flatMap((image) => image.RepoTags ?? []).find((name) => pattern.test(name));
  if (found === undefined) throw new Error(`no build of image ${imageId} tagged ${tag}`);
  return found;
}

/** Removes every image labelled managed-by=<id>: the builds a suite leaves behind. */
export async function removeBuiltImages(orchestratorId: string): Promise<void> {
  const images = await docker.listImages({
    filters: { label: [`${labelKeys.managedBy}=${orchestratorId}`] },
  });
  for (const image of images) {
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => {});
  }
}

export type ApiAnswer = { status: number; headers: Headers; body: any };

async function answer(response: Response): Promise<ApiAnswer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body };
}

/** `POST /api/images` as multipart/form-data: the fields, then the archive as `file`. */
export async function uploadImage(
  server: TestServer,
  fields: Readonly<Record<string, string>>,
  archive: Buffer | undefined,
  options: { filename?: string; token?: string; query?: string } = {},
): Promise<ApiAnswer> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  if (archive !== undefined) {
    form.append("file", new Blob([new Uint8Array(archive)]), options.filename ?? "app.tar.gz");
  }
  return answer(
    await fetch(`${server.url}/api/images${options.query ?? ""}`, {
      method: "POST",
      headers: { authorization: `Bearer ${options.token ?? server.adminToken}` },
      body: form,
    }),
  );
}

/** `PUT /api/images/{id}/source` with the archive as the body. */
export async function putSource(
  server: TestServer,
  imageId: number,
  archive: Buffer,
  contentType: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<ApiAnswer> {
  return answer(
    await fetch(`${server.url}/api/images/${imageId}/source`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${server.adminToken}`,
        "content-type": contentType,
        ...headers,
      },
      body: new Uint8Array(archive),
    }),
  );
}

export async function getImage(server: TestServer, imageId: number): Promise<any> {
  return (await server.request("GET", `/api/images/${imageId}`)).body;
}

/** Waits until the image's status is one of `statuses`; fails at once on an unexpected end. */
export async function waitForStatus(
  server: TestServer,
  imageId: number,
  status: string,
  timeoutMs = 90_000,
): Promise<any> {
  return waitFor(
    () => getImage(server, imageId),
    (image) => {
      if (
        image?.status !== status &&
        (image?.status === "build_failed" || image?.status === "ready")
      ) {
        throw new Error(
          `image ${imageId} ended ${image.status}, not ${status}: ${JSON.stringify(image.conditions)}\n${image.build_logs}`,
        );
      }
      return image?.status === status;
    },
    { timeoutMs, what: `image ${imageId} ${status}` },
  );
}

export async function instancesOf(server: TestServer, imageId: number): Promise<any[]> {
  return (await server.request("GET", `/api/images/${imageId}/containers`)).body.items;
}

export async function eventsOf(server: TestServer, imageId: number): Promise<any[]> {
  return (await server.request("GET", `/api/events?image_id=${imageId}&limit=1000`)).body.items;
}

/** Every path below `dir`, relative and sorted (symlinks listed, not followed). */
export async function treeOf(dir: string, prefix = ""): Promise<string[]> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(join(dir, prefix), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const paths: string[] = [];
  for (const entry of entries) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    paths.push(path);
    if (entry.isDirectory()) paths.push(...(await treeOf(dir, path)));
  }
  return paths.sort();
}

export type SseEvent = { readonly event: string; readonly data: string };

/** Reads Server-Sent Events until `until` says stop or the stream ends (or the time is up). */
export async function readSse(
  url: string,
  token: string,
  until: (event: SseEvent) => boolean,
  timeoutMs = 90_000,
): Promise<SseEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: SseEvent[] = [];
  try {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    if (response.status !== 200) throw new Error(`SSE answered ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length === 0 && event === "message") continue;
        const parsed = { event, data: data.join("\n") };
        events.push(parsed);
        if (until(parsed)) return events;
      }
    }
    return events;
  } catch (error) {
    if (controller.signal.aborted) {
      throw new Error(
        `SSE still open after ${timeoutMs} ms; got ${JSON.stringify(events).slice(-2000)}`,
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
