#!/usr/bin/env -S node --experimental-strip-types --disable-warning=ExperimentalWarning
import "../src/cli/main.ts";
