import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { type ArchiveErrorCode, isArchiveError } from "../../src/archive/archive-error.ts";
import { extractArchive } from "../../src/archive/extract-archive.ts";
import {
  createSandbox,
  listTree,
  rawZipBuffer,
  removeSandboxes,
  type Sandbox,
  tarBuffer,
  zipBuffer,
} from "./archive-fixtures.ts";

const limits = { maxBytes: 4 * 1024 * 1024, maxEntries: 50 };
const mib = 1024 * 1024;

let sandbox: Sandbox;
afterEach(async () => {
  await removeSandboxes();
});

/**
 * Extracts `bytes` and expects a refusal with this code and message; then walks the whole
 * sandbox: nothing may exist outside the target, and the target must be left empty.
 */
async function expectRefused(
  bytes: Buffer,
  code: ArchiveErrorCode,
  message: string | RegExp,
  options: { maxBytes?: number; maxEntries?: number } = {},
): Promise<void> {
  sandbox = await createSandbox();
  const archive = await sandbox.write(bytes);
  const error = await extractArchive(archive, sandbox.target, { ...limits, ...options }).then(
    () => new Error("extraction succeeded"),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  expect(isArchiveError(error) ? error.code : (error as Error).message).toBe(code);
  if (typeof message === "string") expect((error as Error).message).toBe(message);
  else expect((error as Error).message).toMatch(message);
  expect((error as Error).message).not.toContain("\n");
  expect(await sandbox.pathsOutsideTarget()).toEqual([]);
  // The target was created by the call, so it is removed again.
  expect(await listTree(join(sandbox.root, "a/b/c"))).toEqual([]);
}

describe("path traversal", () => {
  it("refuses a zip-slip entry (../ in a zip name)", async () => {
    await expectRefused(
      rawZipBuffer([
        { name: "Dockerfile", content: "FROM scratch" },
        { name: "../../../pwned", content: "owned" },
      ]),
      "unsafe_path",
      "entry ../../../pwned escapes the context",
    );
  });

  it("refuses ../ in a tar name", async () => {
    await expectRefused(
      await tarBuffer([
        { name: "Dockerfile", content: "FROM scratch" },
        { name: "ok/../../../../pwned", content: "owned" },
      ]),
      "unsafe_path",
      "entry ok/../../../../pwned escapes the context",
    );
  });

  it("refuses .. segments that stay inside, too", async () => {
    await expectRefused(
      await tarBuffer([{ name: "a/../b", content: "x" }], { gzip: true }),
      "unsafe_path",
      "entry a/../b has a .. segment",
    );
  });

  it("refuses absolute paths in tar and zip", async () => {
    const outside = join(tmpdir(), `archive-absolute-${randomBytes(6).toString("hex")}`);
    await expectRefused(
      await tarBuffer([{ name: outside, content: "owned" }]),
      "unsafe_path",
      `entry ${outside} is an absolute path`,
    );
    expect(existsSync(outside)).toBe(false);
    await expectRefused(
      rawZipBuffer([{ name: outside, content: "owned" }]),
      "unsafe_path",
      `entry ${outside} is an absolute path`,
    );
    expect(existsSync(outside)).toBe(false);
  });

  it("refuses Windows drive letters and backslashes", async () => {
    await expectRefused(
      rawZipBuffer([{ name: "C:/Windows/evil.dll", content: "x" }]),
      "unsafe_path",
      "entry C:/Windows/evil.dll is an absolute path",
    );
    await expectRefused(
      rawZipBuffer([{ name: "..\\..\\..\\pwned", content: "x" }]),
      "unsafe_path",
      "entry ..\\..\\..\\pwned contains a backslash (a Windows path)",
    );
  });
});

describe("links", () => {
  it("refuses a symlink that points outside (relative and absolute)", async () => {
    await expectRefused(
      await tarBuffer([
        { name: "Dockerfile", content: "FROM scratch" },
        { name: "app/link", type: "symlink", linkname: "../../../../etc" },
      ]),
      "unsafe_link",
      "symlink app/link points outside the context (../../../../etc)",
    );
    await expectRefused(
      await tarBuffer([{ name: "app/link", type: "symlink", linkname: "/etc/shadow" }]),
      "unsafe_link",
      "symlink app/link points outside the context (/etc/shadow)",
    );
    await expectRefused(
      rawZipBuffer([{ name: "app/link", mode: 0o120777, content: "../../.." }]),
      "unsafe_link",
      "symlink app/link points outside the context (../../..)",
    );
  });

  it("refuses a file written through an earlier symlink, even one pointing inside", async () => {
    await expectRefused(
      await tarBuffer([
        { name: "inner/", type: "directory" },
        { name: "sub", type: "symlink", linkname: "inner" },
        { name: "sub/file", content: "through" },
      ]),
      "unsafe_link",
      "entry sub/file would be written through the symlink sub",
    );
    await expectRefused(
      await zipBuffer([
        { name: "sub", mode: 0o120777, content: "." },
        { name: "sub/file", content: "through" },
      ]),
      "unsafe_link",
      "entry sub/file would be written through the symlink sub",
    );
  });

  it("refuses a file that would replace a symlink (writing would follow it)", async () => {
    await expectRefused(
      await tarBuffer([
        { name: "target.txt", content: "x" },
        { name: "link", type: "symlink", linkname: "target.txt" },
        { name: "link", content: "overwrite" },
      ]),
      "unsafe_link",
      "entry link would replace the symlink link",
    );
  });

  it("refuses symlinks that a later symlink turns into a way out", async () => {
    // l1 → x/.. is the root while x is a folder, but once x → "." it climbs above the root.
    await expectRefused(
      await tarBuffer([
        { name: "l1", type: "symlink", linkname: "x/.." },
        { name: "x", type: "symlink", linkname: "." },
      ]),
      "unsafe_link",
      "symlink l1 points outside the context (x/..)",
    );
  });

  it("refuses a link that escapes only once the single top folder is stripped", async () => {
    await expectRefused(
      await tarBuffer([
        { name: "repo/Dockerfile", content: "FROM scratch" },
        { name: "repo/up", type: "symlink", linkname: "../repo" },
      ]),
      "unsafe_link",
      "symlink repo/up points outside the context (../repo)",
    );
  });

  it("refuses symlink loops", async () => {
    await expectRefused(
      await tarBuffer([
        { name: "a", type: "symlink", linkname: "b" },
        { name: "b", type: "symlink", linkname: "a" },
      ]),
      "unsafe_link",
      "symlink a is part of a loop (b)",
    );
  });

  it("refuses hard links outside, through symlinks, or to what was not extracted", async () => {
    await expectRefused(
      await tarBuffer([{ name: "h", type: "link", linkname: "../../../../etc/passwd" }]),
      "unsafe_link",
      "hard link h points outside the context (../../../../etc/passwd)",
    );
    await expectRefused(
      await tarBuffer([{ name: "h", type: "link", linkname: "/etc/passwd" }]),
      "unsafe_link",
      "hard link h points outside the context (/etc/passwd)",
    );
    await expectRefused(
      await tarBuffer([
        { name: "d/", type: "directory" },
        { name: "d/f", content: "x" },
        { name: "s", type: "symlink", linkname: "d" },
        { name: "h", type: "link", linkname: "s/f" },
      ]),
      "unsafe_link",
      "hard link h points to s/f, which is not a file extracted before it",
    );
    await expectRefused(
      await tarBuffer([{ name: "h", type: "link", linkname: "later" }]),
      "unsafe_link",
      "hard link h points to later, which is not a file extracted before it",
    );
  });
});

describe("special files", () => {
  it("refuses device files in tar", async () => {
    await expectRefused(
      await tarBuffer([
        { name: "Dockerfile", content: "FROM scratch" },
        { name: "dev/sda", type: "character-device" },
      ]),
      "unsupported_entry",
      "device file dev/sda is not allowed",
    );
  });

  it("refuses FIFOs in tar and zip, and device files in zip", async () => {
    await expectRefused(
      await tarBuffer([{ name: "pipe", type: "fifo" }], { gzip: true }),
      "unsupported_entry",
      "FIFO pipe is not allowed",
    );
    await expectRefused(
      rawZipBuffer([{ name: "pipe", mode: 0o010644 }]),
      "unsupported_entry",
      "FIFO pipe is not allowed",
    );
    await expectRefused(
      rawZipBuffer([{ name: "dev/sda", mode: 0o060660 }]),
      "unsupported_entry",
      "device file dev/sda is not allowed",
    );
  });
});

describe("limits", () => {
  it("refuses too many entries (zip knows the count up front)", async () => {
    const entries = Array.from({ length: 21 }, (_, index) => ({ name: `f${index}`, content: "x" }));
    await expectRefused(
      await zipBuffer(entries),
      "too_many_entries",
      "archive has 21 entries; the limit is 20",
      { maxEntries: 20 },
    );
    await expectRefused(
      await tarBuffer(entries, { gzip: true }),
      "too_many_entries",
      "archive has more than 20 entries (the limit)",
      { maxEntries: 20 },
    );
  });

  it("refuses a zip bomb: highly compressible data beyond maxBytes", async () => {
    const zeros = Buffer.alloc(24 * mib);
    const bomb = await zipBuffer([
      { name: "Dockerfile", content: "FROM scratch" },
      { name: "zeros", content: zeros },
    ]);
    expect(bomb.length).toBeLessThan(mib);
    await expectRefused(bomb, "too_large", `extracted size exceeds ${limits.maxBytes} bytes`);
  });

  it("refuses a zip whose headers lie about the size, counting the bytes really inflated", async () => {
    await expectRefused(
      rawZipBuffer([
        { name: "zeros", content: Buffer.alloc(16 * mib), compress: true, declaredSize: 1000 },
      ]),
      "corrupt",
      "corrupt archive: entry zeros inflates to more than the 1000 bytes its header says",
    );
    // Big enough to be streamed rather than read whole: yauzl counts the bytes as they come.
    await expectRefused(
      rawZipBuffer([
        { name: "noise", content: randomBytes(2 * mib), compress: true, declaredSize: 1000 },
      ]),
      "corrupt",
      /^corrupt archive: too many bytes in the stream/,
    );
    // Many small honest entries adding up past the limit.
    const entries = Array.from({ length: 5 }, (_, index) => ({
      name: `part${index}`,
      content: Buffer.alloc(mib),
    }));
    await expectRefused(
      await zipBuffer(entries),
      "too_large",
      `extracted size exceeds ${limits.maxBytes} bytes`,
    );
  });

  it("refuses a tar.gz bomb, and a gzip of zeros after a tiny tar", async () => {
    await expectRefused(
      await tarBuffer([{ name: "zeros", content: Buffer.alloc(16 * mib) }], { gzip: true }),
      "too_large",
      `extracted size exceeds ${limits.maxBytes} bytes`,
    );
    const tiny = await tarBuffer([{ name: "Dockerfile", content: "FROM scratch" }]);
    await expectRefused(
      gzipSync(Buffer.concat([tiny, Buffer.alloc(16 * mib)])),
      "too_large",
      `extracted size exceeds ${limits.maxBytes} bytes`,
    );
  });
});

describe("corrupt and foreign files", () => {
  it("refuses a truncated zip", async () => {
    const zip = await zipBuffer([
      { name: "Dockerfile", content: "FROM scratch" },
      { name: "data", content: randomBytes(64 * 1024) },
    ]);
    await expectRefused(zip.subarray(0, zip.length - 40), "corrupt", /^corrupt archive: /);
  });

  it("refuses a zip with damaged compressed data", async () => {
    const zip = await zipBuffer([{ name: "data", content: "hello ".repeat(10_000) }]);
    const damaged = Buffer.from(zip);
    for (let index = 40; index < 200; index += 1) damaged[index] = 0xff;
    await expectRefused(damaged, "corrupt", /^corrupt archive: /);
  });

  it("refuses a truncated tar.gz and a truncated tar", async () => {
    const entries = [
      { name: "Dockerfile", content: "FROM scratch" },
      { name: "data", content: randomBytes(256 * 1024) },
    ];
    const gz = await tarBuffer(entries, { gzip: true });
    await expectRefused(gz.subarray(0, gz.length / 2), "corrupt", /^corrupt archive: /);
    const tar = await tarBuffer(entries);
    await expectRefused(tar.subarray(0, 100 * 1024), "corrupt", /^corrupt archive: /);
  });

  it("refuses a gzip that holds no tar", async () => {
    await expectRefused(
      gzipSync(Buffer.from("just some text, not a tar ".repeat(100))),
      "corrupt",
      /^corrupt archive: /,
    );
  });

  it("refuses a PNG renamed .zip, by its bytes", async () => {
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      randomBytes(600),
    ]);
    await expectRefused(
      png,
      "unsupported_format",
      "not a zip, tar or tar.gz archive (starts with 89 50 4e 47)",
    );
  });

  it("refuses an empty file", async () => {
    await expectRefused(
      Buffer.alloc(0),
      "unsupported_format",
      "not a zip, tar or tar.gz archive (the file is empty)",
    );
  });
});

describe("a target that existed before", () => {
  it("is emptied, not removed, when the archive is refused", async () => {
    sandbox = await createSandbox();
    await mkdir(sandbox.target);
    const archive = await sandbox.write(
      await tarBuffer([
        { name: "Dockerfile", content: "FROM scratch" },
        { name: "deep/dir/file", content: "x" },
        { name: "deep/link", type: "symlink", linkname: "../../../../../../etc" },
      ]),
    );
    await expect(extractArchive(archive, sandbox.target, limits)).rejects.toThrow(/points outside/);
    expect(await listTree(join(sandbox.root, "a/b/c"))).toEqual(["context"]);
    expect(await sandbox.pathsOutsideTarget()).toEqual([]);
  });
});
