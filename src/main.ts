import { serve } from "./cli/serve.ts";

/**
 * `npm start`: the service on its configuration (embedded defaults when nothing is set).
 * `serve` parses the configuration and handles signals; src/composition-root.ts wires it.
 */
await serve();
