# The orchestrator as a container: Node 24 runs the TypeScript sources directly.
#
#   docker build -t orchestrator .                      # FROM node:24-slim (needs Docker Hub)
#   deploy/local-base.sh && docker build --build-arg BASE=orchestrator-node-base:24 -t orchestrator .
#                                                       # no registry: a base made from this machine's Node
#
# It runs as the user `node` (uid 1000). To drive the engine it needs the group that owns the
# Docker socket, given at run time: `--group-add "$(stat -c %g /var/run/docker.sock)"`
# (compose: `group_add`). No `# syntax=` line: the engine's built-in frontend serves it offline.
ARG BASE=node:24-slim

FROM ${BASE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# The full install runs our postinstall (patch-package, a dev dependency, applies patches/);
# the prune then drops the dev dependencies from what the final stage copies.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE}
ENV NODE_ENV=production \
    DATA_DIR=/var/lib/orchestrator/data \
    BUILD_CONTEXT_BASE_DIR=/var/lib/orchestrator/build-contexts
RUN mkdir -p /var/lib/orchestrator/data /var/lib/orchestrator/build-contexts \
 && chown -R node:node /var/lib/orchestrator
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY sql ./sql
COPY src ./src
USER node
VOLUME ["/var/lib/orchestrator"]
EXPOSE 3003
# Liveness: the process answers HTTP. (/readyz also checks the database and the engine; an
# orchestrator waiting for its database is alive and must not be restarted for it.)
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3003)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# --liftoff-only: V8 would otherwise optimise the embedded database's WebAssembly (PGlite's SQL
# parser) at start, seconds of CPU and several hundred MiB (src/composition-root.ts warns without it).
# --max-semi-space-size=4 (MiB): V8's young generation grows to 3 x 16 MiB while the modules load
# and never shrinks; 4 keeps the idle service about 45 MiB smaller (bench/startup). bin/service.js
# turns on the compile cache before the first TypeScript file (a restart strips no types).
CMD ["node", "--max-semi-space-size=4", "--liftoff-only", "bin/service.js"]
