# The orchestrator as a container: Node 24 runs the TypeScript sources directly.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY sql ./sql
COPY src ./src
ENV DATA_DIR=/var/lib/orchestrator/data \
    BUILD_CONTEXT_BASE_DIR=/var/lib/orchestrator/build-contexts
VOLUME ["/var/lib/orchestrator"]
EXPOSE 3003
# --liftoff-only: see "The embedded database" in docs/architecture.md.
CMD ["node", "--liftoff-only", "src/main.ts"]
