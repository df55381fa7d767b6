import { serve } from "./cli/serve.ts";

/** `npm start`: the service on its configuration (embedded defaults when nothing is set). */
await serve();
