# traind: one image for both roles (API: `node dist/src/server.js` with TRAIND_ROLE=api;
# worker: `node dist/workers/main.js`). Multi-stage: compile TypeScript with dev dependencies,
# then a runtime stage with production dependencies, compiled JS, and a non-root user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY bench ./bench
COPY scripts ./scripts
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The native GEMM addon is looked up from dist/ upwards at this path (glibc build, hence bookworm
# not alpine); without it the worker falls back to WebAssembly SIMD.
COPY src/core/kernels/native/prebuilt ./src/core/kernels/native/prebuilt
# The ONNX schema the export encodes with (src/onnx/onnx-schema.ts finds it from dist/ upwards).
COPY vendor/onnx ./vendor/onnx
RUN mkdir -p /data && chown node:node /data
USER node
# Containers reach the API from outside: listen on all interfaces. The server still refuses to
# do so without API_KEYS (it falls back to loopback and warns), so set API_KEYS.
ENV DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=3000 \
    EMBEDDED_REDIS=false
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/server.js"]
