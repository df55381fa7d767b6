// A folder dropped on the page becomes a POSIX ustar archive in the browser, so the API keeps
// taking archives only. Files only (folders are implied by paths); paths over 100 bytes use
// the ustar prefix field.

const encoder = new TextEncoder();
const block = 512;

/** @param {{path: string, file: Blob}[]} entries @returns {Promise<Blob>} */
export async function tarOf(entries) {
  const parts = [];
  for (const { path, file } of entries) {
    parts.push(header(path, file.size, file.lastModified ?? Date.now()));
    parts.push(new Uint8Array(await file.arrayBuffer()));
    const padding = (block - (file.size % block)) % block;
    if (padding > 0) parts.push(new Uint8Array(padding));
  }
  parts.push(new Uint8Array(block * 2));
  return new Blob(parts, { type: "application/x-tar" });
}

function header(path, size, modifiedMs) {
  const bytes = new Uint8Array(block);
  const [prefix, name] = splitPath(path);
  put(bytes, 0, 100, encoder.encode(name));
  put(bytes, 100, 8, octal(0o644, 8));
  put(bytes, 108, 8, octal(0, 8));
  put(bytes, 116, 8, octal(0, 8));
  put(bytes, 124, 12, octal(size, 12));
  put(bytes, 136, 12, octal(Math.floor(modifiedMs / 1000), 12));
  bytes.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  bytes[156] = 0x30; // "0": a regular file
  put(bytes, 257, 6, encoder.encode("ustar\0"));
  put(bytes, 263, 2, encoder.encode("00"));
  put(bytes, 345, 155, encoder.encode(prefix));
  const checksum = bytes.reduce((sum, byte) => sum + byte, 0);
  put(bytes, 148, 8, encoder.encode(`${checksum.toString(8).padStart(6, "0")}\0 `));
  return bytes;
}

function splitPath(path) {
  if (encoder.encode(path).length <= 100) return ["", path];
  const cut = path.lastIndexOf("/", path.length - 1);
  const prefix = path.slice(0, cut);
  const name = path.slice(cut + 1);
  if (cut < 0 || encoder.encode(prefix).length > 155 || encoder.encode(name).length > 100) {
    throw new Error(`path too long for an archive: ${path}`);
  }
  return [prefix, name];
}

function octal(value, width) {
  return encoder.encode(`${value.toString(8).padStart(width - 1, "0")}\0`);
}

function put(target, offset, length, source) {
  target.set(source.subarray(0, length), offset);
}
