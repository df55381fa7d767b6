import { enableCompileCache } from "node:module";

// `npm start` and the image's entry. The compile cache is on before the first TypeScript file
// loads (src/main.ts turns it on too, too late for itself): on a restart every module, main.ts
// included, comes from the cache with its types already stripped, so Node never loads its type
// stripper (a WebAssembly module of about 11 MiB resident; bench/startup's restart).
enableCompileCache();
await import("../src/main.ts");
