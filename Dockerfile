# syntax=docker/dockerfile:1
# Build stage: all dependencies, compile TypeScript and the browser client.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY libs ./libs
COPY src ./src
COPY public ./public
RUN npm run build

# Production dependencies only.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Runtime: small image, non-root, exec-form CMD so SIGTERM reaches Node and Herald drains.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000 ALERTS_STORE_PATH=/var/lib/herald/alerts.json
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/public ./public
COPY package.json ./
RUN mkdir -p /var/lib/herald && chown node:node /var/lib/herald
USER node
EXPOSE 3000
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
