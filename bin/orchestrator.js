#!/usr/bin/env -S node --liftoff-only --experimental-strip-types --disable-warning=ExperimentalWarning
import { enableCompileCache } from "node:module";

// Compiled code is cached on disk (see src/main.ts); imports come after it.
enableCompileCache();
await import("../src/cli/main.ts");
