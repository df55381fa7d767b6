/**
 * Every kind of hostile or broken upload is refused with a problem, and leaves nothing behind:
 * no image row, nothing on disk (outside the context or anywhere else), no build.
 */
import { randomBytes } from "node:crypto";
import { access, mkdir, mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawZipBuffer, tarBuffer, zipBuffer } from "../archive/archive-fixtures.ts";
import { type StreamedAnswer, streamBody } from "../support/raw-http.ts";
import { hasDocker } from "../support/services.ts";
import type { TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import {
  archiveOf,
  putSource,
  startBuildServer,
  treeOf,
  uploadImage,
  waitForStatus,
  webApp,
} from "./build-support.ts";

const uploadMaxBytes = 2 * 1024 * 1024;
const extractMaxBytes = 8 * 1024 * 1024;
const extractMaxEntries = 100;
const dockerfile = { name: "Dockerfile", content: "FROM orchestrator-test/busybox:latest\n" };
const nonce = randomBytes(4).toString("hex");
/** Where an absolute path in an archive would land, if it were ever followed. */
const absoluteTarget = join(tmpdir(), `orch-evil-${nonce}`);

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

type Case = {
  readonly name: string;
  readonly archive: () => Promise<Buffer> | Buffer;
  readonly archiveError: string;
  readonly message: RegExp;
};

const cases: Case[] = [
  {
    name: "zip-slip",
    archive: () =>
      rawZipBuffer([dockerfile, { name: "../../../../../../evil-zip.txt", content: "pwned" }]),
    archiveError: "unsafe_path",
    message: /evil-zip\.txt.*escapes the context/,
  },
  {
    name: "tar traversal",
    archive: () =>
      tarBuffer([dockerfile, { name: "a/../../../../../../evil-tar.txt", content: "pwned" }]),
    archiveError: "unsafe_path",
    message: /evil-tar\.txt/,
  },
  {
    name: "absolute path in a tar",
    archive: () =>
      tarBuffer([dockerfile, { name: `${absoluteTarget}/evil.txt`, content: "pwned" }], {
        gzip: true,
      }),
    archiveError: "unsafe_path",
    message: /is an absolute path/,
  },
  {
    name: "absolute path in a zip",
    archive: () => rawZipBuffer([dockerfile, { name: `${absoluteTarget}/evil.txt`, content: "x" }]),
    archiveError: "unsafe_path",
    message: /is an absolute path/,
  },
  {
    name: "symlink escaping the context, then written through",
    archive: () =>
      tarBuffer([
        dockerfile,
        { name: "escape", type: "symlink", linkname: "../../../../../../../.." },
        { name: "escape/evil-through-link.txt", content: "pwned" },
      ]),
    archiveError: "unsafe_link",
    message: /escape/,
  },
  {
    name: "symlink to an absolute path in a zip",
    archive: () =>
      rawZipBuffer([dockerfile, { name: "passwd", content: "/etc/passwd", mode: 0o120777 }]),
    archiveError: "unsafe_link",
    message: /passwd/,
  },
  {
    name: "hard link outside the context",
    archive: () =>
      tarBuffer([dockerfile, { name: "shadow", type: "link", linkname: "../../../../etc/shadow" }]),
    archiveError: "unsafe_link",
    message: /shadow/,
  },
  {
    name: "device file",
    archive: () => tarBuffer([dockerfile, { name: "sda", type: "character-device" }]),
    archiveError: "unsupported_entry",
    message: /device file sda is not allowed/,
  },
  {
    name: "FIFO",
    archive: () => tarBuffer([dockerfile, { name: "pipe", type: "fifo" }]),
    archiveError: "unsupported_entry",
    message: /FIFO pipe is not allowed/,
  },
  {
    name: "zip bomb (small upload, huge content)",
    archive: () =>
      zipBuffer([dockerfile, { name: "zeros.bin", content: Buffer.alloc(extractMaxBytes + 1024) }]),
    archiveError: "too_large",
    message: new RegExp(`exceeds ${extractMaxBytes} bytes`),
  },
  {
    name: "tar.gz bomb",
    archive: () =>
      tarBuffer([dockerfile, { name: "zeros.bin", content: Buffer.alloc(extractMaxBytes * 2) }], {
        gzip: true,
      }),
    archiveError: "too_large",
    message: /exceeds/,
  },
  {
    name: "zip whose header lies about its size",
    archive: () =>
      rawZipBuffer([
        dockerfile,
        { name: "liar.bin", content: Buffer.alloc(64 * 1024), compress: true, declaredSize: 10 },
      ]),
    archiveError: "corrupt",
    message: /liar\.bin|corrupt/,
  },
  {
    name: "too many entries",
    archive: () =>
      tarBuffer([
        dockerfile,
        ...Array.from({ length: extractMaxEntries + 5 }, (_, index) => ({
          name: `f${index}.txt`,
          content: "x",
        })),
      ]),
    archiveError: "too_many_entries",
    message: new RegExp(`more than ${extractMaxEntries} entries`),
  },
  {
    name: "corrupt zip",
    archive: async () => {
      const zip = await zipBuffer([dockerfile, { name: "a.txt", content: "a".repeat(5000) }]);
      return Buffer.concat([zip.subarray(0, 80), randomBytes(200)]);
    },
    archiveError: "corrupt",
    message: /corrupt archive/,
  },
  {
    name: "corrupt tar.gz",
    archive: async () => {
      const gz = await tarBuffer([dockerfile, { name: "a.txt", content: "a".repeat(5000) }], {
        gzip: true,
      });
      return Buffer.concat([gz.subarray(0, 40), randomBytes(100)]);
    },
    archiveError: "corrupt",
    message: /corrupt archive/,
  },
  {
    name: "not an archive",
    archive: () => Buffer.from("just some text, not an archive\n"),
    archiveError: "unsupported_format",
    message: /not a zip, tar or tar\.gz archive/,
  },
  {
    name: "no Dockerfile",
    archive: () =>
      tarBuffer([
        { name: "README.md", content: "# app\n" },
        { name: "src/main.js", content: "" },
      ]),
    archiveError: "no_dockerfile",
    message: /no Dockerfile at the root of the archive \(found: README\.md, src\/\)/,
  },
];

describe.runIf(hasDocker())("hostile and broken uploads", () => {
  let root: string;
  let server: TestServer;
  let baseline: string[];
  /** Everything on disk below the sandbox but the database's own files. */
  const snapshot = async () =>
    (await treeOf(root)).filter(
      (path) => !path.startsWith("data/pglite/") && path !== "data/pglite",
    );

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "orch-hostile-"));
    await mkdir(join(root, "data"));
    server = await startBuildServer({
      dataDir: join(root, "data"),
      env: {
        // Deep below the sandbox: any "../" that escaped would still land where it is seen.
        BUILD_CONTEXT_BASE_DIR: join(root, "l1", "l2", "l3", "l4", "contexts"),
        UPLOAD_MAX_BYTES: String(uploadMaxBytes),
        EXTRACT_MAX_BYTES: String(extractMaxBytes),
        EXTRACT_MAX_ENTRIES: String(extractMaxEntries),
      },
    });
    baseline = await snapshot();
  });
  afterAll(async () => {
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  /** Deletes an image and waits until it, its source and its logs are gone. */
  async function deleteImage(imageId: number) {
    await server.request("DELETE", `/api/images/${imageId}`);
    await waitFor(
      async () => (await server.request("GET", `/api/images/${imageId}`)).status,
      (status) => status === 404,
      { what: `image ${imageId} deleted` },
    );
  }

  async function expectNothingWritten(name: string) {
    expect(await snapshot()).toEqual(baseline);
    expect(await exists(absoluteTarget)).toBe(false);
    const images = (await server.request("GET", "/api/images")).body.items;
    expect(images.filter((image: any) => image.name === name)).toEqual([]);
  }

  it("starts from an empty context folder", () => {
    expect(baseline).toContain("l1/l2/l3/l4/contexts/.incoming");
    expect(baseline.filter((path) => path.startsWith("l1/l2/l3/l4/contexts/"))).toEqual([
      "l1/l2/l3/l4/contexts/.incoming",
    ]);
  });

  it.each(cases)("refuses $name with 422 and writes nothing", async (testCase) => {
    const name = `evil-${cases.indexOf(testCase)}`;
    const archive = await testCase.archive();
    expect(archive.length).toBeLessThan(uploadMaxBytes);
    const refused = await uploadImage(server, { name }, archive);
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.body).toMatchObject({
      code: "validation_failed",
      archive_error: testCase.archiveError,
      errors: [{ path: "file" }],
    });
    expect(refused.body.errors[0].message).toMatch(testCase.message);
    await expectNothingWritten(name);
  });

  it("refuses them as a new source of an existing image too, keeping its source", async () => {
    const good = await archiveOf("tar.gz", webApp("kept\n"));
    const created = await uploadImage(server, { name: "target", desired_instances: "0" }, good);
    expect(created.status).toBe(202);
    const imageId = created.body.id;
    await waitForStatus(server, imageId, "ready");
    const before = await snapshot();
    for (const testCase of cases) {
      const refused = await putSource(
        server,
        imageId,
        await testCase.archive(),
        "application/gzip",
      );
      expect(refused.status, testCase.name).toBe(422);
      expect(refused.body.archive_error, testCase.name).toBe(testCase.archiveError);
    }
    expect(await snapshot()).toEqual(before);
    const image = (await server.request("GET", `/api/images/${imageId}`)).body;
    expect(image).toMatchObject({ status: "ready", source_digest: created.body.source_digest });
    await deleteImage(imageId);
    // The image's folder and logs are gone; its user's folder stays for their next image.
    const after = await snapshot();
    expect(after.filter((path) => !baseline.includes(path))).toEqual(["l1/l2/l3/l4/contexts/1"]);
    baseline = after;
  });

  it("refuses a form without file and image, unknown fields and bad values", async () => {
    const noFile = await uploadImage(server, { name: "nofile" }, undefined);
    expect(noFile.status).toBe(422);
    expect(noFile.body.errors).toEqual([
      { path: "file", message: expect.stringMatching(/required/) },
    ]);
    const archive = await archiveOf("tar", webApp("x\n"));
    const unknown = await uploadImage(server, { name: "unknown", colour: "blue" }, archive);
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors).toEqual([{ path: "colour", message: "unknown field" }]);
    const bad = await uploadImage(
      server,
      { name: "bad", container_port: "99999", desired_instances: "5", max_instances: "2" },
      archive,
    );
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((error: any) => error.path)).toEqual(["container_port"]);
    const bounds = await uploadImage(
      server,
      { name: "bounds", desired_instances: "5", max_instances: "2" },
      archive,
    );
    expect(bounds.status).toBe(422);
    expect(bounds.body.errors.map((error: any) => error.path)).toEqual(["desired_instances"]);
    const both = await uploadImage(server, { name: "both", image: "nginx:1.27" }, archive);
    expect(both.status).toBe(422);
    expect(both.body.errors[0].path).toBe("image");
    for (const name of ["nofile", "unknown", "bad", "bounds", "both"])
      await expectNothingWritten(name);
  });

  /**
   * Sends a multipart upload of `totalBytes` without a content-length, chunk by chunk, the way
   * a slow client would; resolves with the answer and how much had been sent when it came.
   */
  function streamUpload(
    path: string,
    fields: Readonly<Record<string, string>>,
    totalBytes: number,
  ): Promise<StreamedAnswer> {
    const boundary = `----orch${nonce}`;
    const head = `${Object.entries(fields)
      .map(
        ([name, value]) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
      )
      .join(
        "",
      )}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.tar"\r\nContent-Type: application/x-tar\r\n\r\n`;
    return streamBody(server.url, {
      method: "POST",
      path,
      headers: {
        authorization: `Bearer ${server.adminToken}`,
        "content-type": `multipart/form-data; boundary=${boundary}`,
      },
      head,
      totalBytes,
      tail: `\r\n--${boundary}--\r\n`,
    });
  }

  it("refuses an oversize upload with 413 while it streams, not after", async () => {
    const total = 40 * 1024 * 1024;
    const answer = await streamUpload("/api/images", { name: "huge" }, total);
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ code: "payload_too_large", max_bytes: uploadMaxBytes });
    // Answered soon after the limit passed: most of the body was never sent.
    expect(answer.sentWhenAnswered).toBeLessThan(total / 4);
    await expectNothingWritten("huge");
  });

  it("forgets an upload whose client goes away halfway, and goes on serving", async () => {
    const boundary = `----gone${nonce}`;
    await new Promise<void>((resolve) => {
      const req = httpRequest(new URL("/api/images", server.url), {
        method: "POST",
        headers: {
          authorization: `Bearer ${server.adminToken}`,
          "content-type": `multipart/form-data; boundary=${boundary}`,
          "content-length": String(uploadMaxBytes - 1024),
        },
      });
      req.on("error", () => resolve());
      req.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\ngone\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.tar"\r\n\r\n`,
      );
      req.write(randomBytes(512 * 1024), () => {
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200);
      });
    });
    await waitFor(snapshot, (paths) => JSON.stringify(paths) === JSON.stringify(baseline), {
      what: "the staged upload removed",
      timeoutMs: 10_000,
    });
    await expectNothingWritten("gone");
    expect((await server.request("GET", "/api/images")).status).toBe(200);
  });

  it("refuses at once a body whose declared length is over the limit", async () => {
    const created = await uploadImage(
      server,
      { name: "declared", desired_instances: "0" },
      await archiveOf("zip", webApp("x\n")),
    );
    const answer = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = httpRequest(
        new URL(`/api/images/${created.body.id}/source`, server.url),
        {
          method: "PUT",
          headers: {
            authorization: `Bearer ${server.adminToken}`,
            "content-type": "application/gzip",
            "content-length": String(100 * 1024 * 1024),
          },
        },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on("error", reject);
      req.flushHeaders(); // headers only: not one byte of the body is sent
    });
    expect(answer.status).toBe(413);
    expect(answer.body.code).toBe("payload_too_large");
    await deleteImage(created.body.id);
  });

  it("fails fast on a bad field sent before the file, without reading the file", async () => {
    const answer = await streamUpload(
      "/api/images",
      { name: "early", container_port: "not-a-port" },
      40 * 1024 * 1024,
    );
    expect(answer.status).toBe(422);
    expect(answer.body.errors[0].path).toBe("container_port");
    expect(answer.sentWhenAnswered).toBeLessThan(4 * 1024 * 1024);
    await expectNothingWritten("early");
  });
});
