# syntax=docker/dockerfile:1
# The generation API. Build from the repository root:
#   docker build -f deploy/docker/generation-api.Dockerfile -t strata/generation-api:0.1.0 .
# The deploy package's integration suite replays this file's build stage (COPY, RUN) in a temporary folder
# and starts the pruned tree with this file's CMD, so a missing runtime dependency fails a test.

FROM node:20.20.2-bookworm-slim AS build
# onnxruntime-node ships its CPU runtime in the npm package; its install script would fetch CUDA libraries.
ENV ONNXRUNTIME_NODE_INSTALL=skip CI=true
RUN npm install --global pnpm@10.34.8
WORKDIR /workspace
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json ./
COPY packages/ packages/
COPY apps/ apps/
# Every image's build stage is the same up to here, so Docker's layer cache builds the workspace once for all.
RUN pnpm install --frozen-lockfile
RUN pnpm -r run build
# A pruned production tree: the app, its workspace packages' dist and their production dependencies only.
RUN pnpm --filter @strata/generation-api deploy --prod --legacy /app
# Files keep their modes in the image, and the app runs as a user that owns none of them: make them readable
# (the embedded database template, for one, is written 0600 at build time).
RUN chmod -R a+rX /app

FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    MODEL_CACHE_DIR=/var/cache/strata/models \
    STRATA_DATA_DIR=/var/lib/strata
# The root filesystem is read-only at run time; these are the writable mounts (volumes in Kubernetes).
RUN mkdir -p /var/cache/strata/models /var/lib/strata \
  && chown 10001:10001 /var/cache/strata/models /var/lib/strata
COPY --from=build /app /app
WORKDIR /app
USER 10001:10001
VOLUME ["/var/cache/strata/models", "/var/lib/strata"]
EXPOSE 3000
# Ready only once the model is loaded; the start period covers a model download.
HEALTHCHECK --interval=10s --timeout=3s --start-period=300s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
