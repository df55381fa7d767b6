import { tarOf } from "./tar-writer.js";

/**
 * What was dropped or picked, as one archive for `POST /api/images` (`file`): an archive as it
 * is; a folder (or several files) packed as a tar, paths relative to the folder.
 */
export async function sourceFromDrop(dataTransfer) {
  const items = [...dataTransfer.items].filter((item) => item.kind === "file");
  const entries = items.map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.length === 1 && entries[0].isFile) return dataTransfer.files[0];
  const files = [];
  for (const entry of entries) await collect(entry, "", files);
  return packed(stripCommonFolder(files));
}

/** Files picked with `<input webkitdirectory>`: each has its path under the picked folder. */
export function sourceFromFolderInput(fileList) {
  const files = [...fileList].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
  return packed(stripCommonFolder(files));
}

async function packed(files) {
  if (files.length === 0) throw new Error("the folder is empty");
  const archive = await tarOf(files);
  return new File([archive], "source.tar", { type: "application/x-tar" });
}

async function collect(entry, prefix, into) {
  const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
  if (entry.isFile) {
    into.push({ path, file: await new Promise((resolve, reject) => entry.file(resolve, reject)) });
    return;
  }
  const reader = entry.createReader();
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return;
    for (const child of batch) await collect(child, path, into);
  }
}

/** A dropped folder `shop/` holding `Dockerfile` becomes a context with `Dockerfile` at its root. */
function stripCommonFolder(files) {
  const first = files[0]?.path.split("/")[0];
  const shared = files.length > 0 && files.every((file) => file.path.startsWith(`${first}/`));
  return shared
    ? files.map((file) => ({ ...file, path: file.path.slice(first.length + 1) }))
    : files;
}
