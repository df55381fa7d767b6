import { importMap } from "./dashboard-assets.ts";

/** The one HTML page: a shell the modules in `browser/` fill in (no inline code but the map). */
export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Orchestrator</title>
<link rel="stylesheet" href="/ui/assets/dashboard.css">
<script type="importmap">${importMap}</script>
<script type="module" src="/ui/assets/main.js"></script>
</head>
<body>
<div id="app"><main><p>Loading the dashboard…</p></main></div>
<noscript>The dashboard needs JavaScript; the API at /api and the CLI work without it.</noscript>
</body>
</html>
`;
