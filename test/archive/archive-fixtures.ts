/**
 * Builders for real archives, malicious ones included, made in the test: tar and tar.gz with
 * tar-stream, well-formed zips with yazl, and zips written byte by byte for what yazl refuses
 * to write (names with "..", absolute names, lying sizes).
 */
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import tarStream from "tar-stream";
import yazl from "yazl";

export type TarFixtureEntry = {
  readonly name: string;
  readonly type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo";
  readonly content?: string | Buffer;
  readonly mode?: number;
  readonly linkname?: string;
};

export async function tarBuffer(
  entries: readonly TarFixtureEntry[],
  options: { gzip?: boolean } = {},
): Promise<Buffer> {
  const pack = tarStream.pack();
  const collected = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const entry of entries) {
    const type = entry.type ?? "file";
    const content =
      typeof entry.content === "string" ? Buffer.from(entry.content) : (entry.content ?? undefined);
    const header = {
      name: entry.name,
      type,
      mode: entry.mode ?? (type === "directory" ? 0o755 : 0o644),
      mtime: new Date(1_700_000_000_000),
      ...(entry.linkname === undefined ? {} : { linkname: entry.linkname }),
      ...(type === "character-device" ? { devmajor: 8, devminor: 0 } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      if (content !== undefined) pack.entry({ ...header, size: content.length }, content, done);
      else pack.entry({ ...header, size: 0 }, done);
    });
  }
  pack.finalize();
  const tar = await collected;
  return options.gzip === true ? gzipSync(tar) : tar;
}

export type ZipFixtureEntry = {
  readonly name: string;
  readonly content?: string | Buffer;
  /** Unix mode with its type bits (0o100644 file, 0o120777 symlink, 0o010644 FIFO, ...). */
  readonly mode?: number;
  readonly directory?: boolean;
  readonly compress?: boolean;
};

/** A well-formed zip made by yazl (which refuses unsafe names). */
export async function zipBuffer(entries: readonly ZipFixtureEntry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    if (entry.directory === true) {
      zip.addEmptyDirectory(entry.name, entry.mode === undefined ? {} : { mode: entry.mode });
      continue;
    }
    const content =
      typeof entry.content === "string" ? Buffer.from(entry.content) : (entry.content ?? undefined);
    zip.addBuffer(content ?? Buffer.alloc(0), entry.name, {
      compress: entry.compress ?? true,
      ...(entry.mode === undefined ? {} : { mode: entry.mode }),
    });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export type RawZipEntry = {
  readonly name: string;
  readonly content?: string | Buffer;
  readonly mode?: number;
  readonly compress?: boolean;
  /** The uncompressed size the headers claim (a zip bomb's lie). */
  readonly declaredSize?: number;
};

/** A zip written field by field, names and sizes exactly as given. */
export function rawZipBuffer(entries: readonly RawZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data =
      typeof entry.content === "string"
        ? Buffer.from(entry.content)
        : (entry.content ?? Buffer.alloc(0));
    const body = entry.compress === true ? deflateRawSync(data) : data;
    const name = Buffer.from(entry.name, "utf8");
    const method = entry.compress === true ? 8 : 0;
    const size = entry.declaredSize ?? data.length;
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE((3 << 8) | 20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(0x0800, 8);
    header.writeUInt16LE(method, 10);
    header.writeUInt16LE(0, 12);
    header.writeUInt16LE(0x21, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(body.length, 20);
    header.writeUInt32LE(size, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE(((entry.mode ?? 0o100644) << 16) >>> 0, 38);
    header.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(header, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

/**
 * A scratch folder `root` holding the upload at `root/upload/archive` and an extraction target
 * three levels down (`root/a/b/c/context`), so that "../../../x" still lands inside `root`,
 * where `pathsOutsideTarget` can see it.
 */
export type Sandbox = {
  readonly root: string;
  readonly archive: string;
  readonly target: string;
  readonly write: (bytes: Buffer) => Promise<string>;
  readonly pathsOutsideTarget: () => Promise<string[]>;
  readonly remove: () => Promise<void>;
};

/** Every sandbox made and not removed yet: removeSandboxes() removes them all. */
const liveSandboxes = new Set<string>();

/** Removes every sandbox still there (a test may make several); call it after each test. */
export async function removeSandboxes(): Promise<void> {
  for (const root of liveSandboxes) await rm(root, { recursive: true, force: true });
  liveSandboxes.clear();
}

export async function createSandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), "archive-test-"));
  liveSandboxes.add(root);
  const archive = join(root, "upload", "archive");
  const target = join(root, "a", "b", "c", "context");
  await mkdir(join(root, "upload"));
  await mkdir(join(root, "a", "b", "c"), { recursive: true });
  return {
    root,
    archive,
    target,
    write: async (bytes) => {
      await writeFile(archive, bytes);
      return archive;
    },
    pathsOutsideTarget: async () => {
      const expected = new Set(["upload", "upload/archive", "a", "a/b", "a/b/c"]);
      const all = await listTree(root);
      return all.filter((path) => !expected.has(path) && !`${path}/`.startsWith("a/b/c/context/"));
    },
    remove: async () => {
      liveSandboxes.delete(root);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Every path below `dir`, relative, found with lstat (symlinks are listed, not followed). */
export async function listTree(dir: string, prefix = ""): Promise<string[]> {
  const paths: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    paths.push(path);
    if (entry.isDirectory()) paths.push(...(await listTree(dir, path)));
  }
  return paths.sort();
}

export async function modeOf(path: string): Promise<number> {
  return (await lstat(path)).mode & 0o7777;
}

/** The pax global header `git archive` (and so GitHub) puts first, holding the commit id. */
export function paxGlobalHeader(commit: string): Buffer {
  const record = (text: string): string => {
    let length = text.length + 3;
    while (`${length} ${text}\n`.length !== length) length += 1;
    return `${length} ${text}\n`;
  };
  const body = Buffer.from(record(`comment=${commit}`));
  const header = Buffer.alloc(512);
  header.write("pax_global_header", 0, "latin1");
  header.write("0000666\0", 100, "latin1");
  header.write("0000000\0", 108, "latin1");
  header.write("0000000\0", 116, "latin1");
  header.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124, "latin1");
  header.write("00000000000\0", 136, "latin1");
  header.write("g", 156, "latin1");
  header.write("ustar\u000000", 257, "latin1");
  header.write("        ", 148, "latin1");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, padding]);
}
