#!/usr/bin/env -S node --liftoff-only --experimental-strip-types --disable-warning=ExperimentalWarning
import { enableCompileCache } from "node:module";

// Compiled code is cached on disk (see src/main.ts); imports come after it.
enableCompileCache();
// Installed from the package, Node will not strip types inside node_modules: run the
// JavaScript built at pack time. In a checkout, run the TypeScript itself.
const installed = import.meta.url.includes("/node_modules/");
await import(installed ? "../dist/src/cli/main.js" : "../src/cli/main.ts");
