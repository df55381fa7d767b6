import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * PGlite 0.4.6 reads every text field of a result by copying its bytes into a new ArrayBuffer
 * (`bytes`: `buffer.slice`) before decoding them: on the relay's drain that copy was 13% of the
 * CPU of reading a batch. patches/@electric-sql+pglite+0.4.6.patch decodes a view of the
 * message instead (`npm ci` applies it: postinstall patch-package). It also reads a data row's
 * fields straight from a DataView of the message: the reader it replaces reached every length
 * and offset through transpiled private fields (a WeakMap lookup each, ~60 a row of 7 fields),
 * ~12% of the CPU of reading the relay's batch of 500. Every suite on PGlite reads through it
 * (test/foundation/store.test.ts reads multi-byte, empty, NULL and long text).
 */
describe("PGlite's protocol reader", () => {
  const root = path.dirname(
    path.dirname(fileURLToPath(import.meta.resolve("@electric-sql/pglite"))),
  );
  const version = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).version;

  it("is the version the patch was written for", () => {
    expect(version).toBe("0.4.6");
  });

  it("carries the patch: text fields are decoded from a view, not a copy", () => {
    const reader = readFileSync(path.join(root, "dist", "chunk-JOTQFPBW.js"), "utf8");
    expect(reader).toContain(
      "string(e){let n=new Uint8Array(r(this,M).buffer,r(this,M).byteOffset+r(this,w),e);",
    );
    expect(reader).not.toContain("string(e){return r(this,le).decode(this.bytes(e))}");
  });

  it("carries the patch: a data row's fields are read from a DataView of the message", () => {
    const reader = readFileSync(path.join(root, "dist", "chunk-JOTQFPBW.js"), "utf8");
    expect(reader).toContain(
      "ut=function(e,n,s){let v=new DataView(s),i=v.getInt16(e),a=new Array(i),q=e+2;",
    );
    expect(reader).not.toContain("ut=function(e,n,s){r(this,o).setBuffer(e,s);");
  });
});
