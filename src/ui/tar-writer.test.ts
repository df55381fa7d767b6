import { Readable } from "node:stream";
import { extract } from "tar-stream";
import { describe, expect, it } from "vitest";

/** The browser module, loaded as the browser loads it (plain JavaScript, no types). */
const browserModule: string = "./browser/tar-writer.js";
const { tarOf } = (await import(browserModule)) as {
  tarOf: (entries: { path: string; file: Blob }[]) => Promise<Blob>;
};

async function entriesOf(archive: Blob): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const reader = extract();
  reader.on("entry", (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk) => chunks.push(chunk as Buffer));
    stream.on("end", () => {
      found[header.name] = Buffer.concat(chunks).toString("utf8");
      next();
    });
  });
  const done = new Promise((resolve, reject) => {
    reader.on("finish", () => resolve(undefined));
    reader.on("error", reject);
  });
  Readable.from(Buffer.from(await archive.arrayBuffer())).pipe(reader);
  await done;
  return found;
}

describe("the dashboard's tar writer (a dropped folder becomes an archive)", () => {
  it("writes a ustar archive that a real tar reader takes back, long paths included", async () => {
    const deep = `${"nested-folder/".repeat(9)}file-with-a-long-name.txt`;
    expect(deep.length).toBeGreaterThan(100);
    const archive = await tarOf([
      { path: "Dockerfile", file: new Blob(["FROM scratch\n"]) },
      { path: "empty.txt", file: new Blob([]) },
      { path: "www/index.html", file: new Blob(["x".repeat(513)]) },
      { path: deep, file: new Blob(["deep"]) },
    ]);
    expect(archive.size % 512).toBe(0);
    expect(await entriesOf(archive)).toEqual({
      Dockerfile: "FROM scratch\n",
      "empty.txt": "",
      "www/index.html": "x".repeat(513),
      [deep]: "deep",
    });
  });

  it("refuses a name that no ustar header can hold", async () => {
    await expect(tarOf([{ path: "a".repeat(120), file: new Blob(["x"]) }])).rejects.toThrow(
      /too long/,
    );
  });
});
