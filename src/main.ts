import { enableCompileCache } from "node:module";

// Node keeps the compiled code of our modules and dependencies on disk (in the OS temp folder,
// or NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns it off): a restart then loads them
// in about two thirds of the time. Imports come after it, hence the dynamic import.
enableCompileCache();

/**
 * `npm start`: the service on its configuration (embedded defaults when nothing is set).
 * `serve` parses the configuration and handles signals; src/composition-root.ts wires it.
 */
const { serve } = await import("./cli/serve.ts");
await serve();
