# syntax=docker/dockerfile:1
# Herald: docker build -t herald . && docker run -p 3000:3000 herald
# Node 24, the current LTS line: .ci/run runs the whole suite on this same major (package.json engines).
ARG NODE_IMAGE=node:24-bookworm-slim

# Build stage: every dependency, compile TypeScript (dist/) and bundle the browser client (public/client/).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY libs ./libs
COPY src ./src
COPY public ./public
RUN npm run build

# Production dependencies only; no install scripts (none is needed at run time).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: no compiler, no dev dependencies, no npm in the process tree, not root.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 ALERTS_STORE_PATH=/var/lib/herald/alerts.json
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/public ./public
# "type": "module" makes dist/*.js ES modules; the OpenAPI document reads the version.
COPY package.json ./
RUN mkdir -p /var/lib/herald && chown 1000:1000 /var/lib/herald
# The image's `node` user, by number, so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
# Herald drains on SIGTERM (readiness 503, `event: close` to every stream) and exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself (a shell would swallow it).
CMD ["node", "dist/main.js"]
