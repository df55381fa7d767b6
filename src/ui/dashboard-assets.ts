import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

/**
 * The dashboard's files, all served by this process (no CDN: air-gapped users): the page's own
 * modules from `browser/` beside this file, and the two libraries it runs on, read from their
 * packages. Nothing is built: browsers load the ES modules as they are.
 */
const browserFolder = path.join(import.meta.dirname, "browser");

const packageFile = (specifier: string) => createRequire(import.meta.url).resolve(specifier);

/** Library modules by the name the page imports them under (see the import map). */
const vendorFiles: Readonly<Record<string, () => string>> = {
  "preact.mjs": () => packageFile("preact"),
  "hooks.mjs": () => packageFile("preact/hooks"),
  "htm.mjs": () => path.join(path.dirname(packageFile("htm")), "htm.module.js"),
};

const contentTypes: Readonly<Record<string, string>> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** Maps bare imports to the vendored files: the one inline script, allowed by its hash. */
export const importMap = JSON.stringify({
  imports: {
    preact: "/ui/vendor/preact.mjs",
    "preact/hooks": "/ui/vendor/hooks.mjs",
    htm: "/ui/vendor/htm.mjs",
  },
});

const importMapHash = createHash("sha256").update(importMap).digest("base64");

/** Scripts only from here (and the import map); no inline styles or frames; API calls to here. */
export const contentSecurityPolicy = [
  "default-src 'self'",
  `script-src 'self' 'sha256-${importMapHash}'`,
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

export type Asset = { readonly body: Uint8Array; readonly contentType: string };

/** Reads the files once, on first use. */
export function dashboardAssets() {
  let browser: Map<string, Asset> | undefined;
  const vendor = new Map<string, Asset>();

  async function browserFiles(): Promise<Map<string, Asset>> {
    if (browser !== undefined) return browser;
    const files = new Map<string, Asset>();
    for (const name of await readdir(browserFolder)) {
      const contentType = contentTypes[path.extname(name)];
      if (contentType === undefined) continue;
      files.set(name, {
        body: new Uint8Array(await readFile(path.join(browserFolder, name))),
        contentType,
      });
    }
    browser = files;
    return files;
  }

  return {
    /** The page's own file, by its bare name; undefined for any other name. */
    async own(name: string): Promise<Asset | undefined> {
      return (await browserFiles()).get(name);
    },
    async vendored(name: string): Promise<Asset | undefined> {
      const locate = vendorFiles[name];
      if (locate === undefined) return undefined;
      let asset = vendor.get(name);
      if (asset === undefined) {
        asset = {
          body: new Uint8Array(await readFile(locate())),
          contentType: "text/javascript; charset=utf-8",
        };
        vendor.set(name, asset);
      }
      return asset;
    },
    vendorNames: Object.keys(vendorFiles) as [string, ...string[]],
  };
}
