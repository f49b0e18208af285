# The worker and the one-off CLI commands (docker-compose.yml, deploy/).
# Build:  docker build -t osc-build-watcher .
# The final image holds the compiled CLI (dist/src, without the simulators), the prebuilt
# workflow bundle, and the production dependencies. No TypeScript, tests or scripts.

# Build stage: compile, bundle the workflows, drop what must not ship.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
# --ignore-scripts: `prepare` would build before the sources are here, then try to install the
# Temporal CLI with python. The CLI is only needed by the embedded dev server, not by a worker.
RUN npm ci --ignore-scripts
# test/ and scripts/ are compiled too (tsconfig.json includes them, and the bundle script is one).
COPY src ./src
COPY scripts ./scripts
COPY test ./test
# The simulators are test tools; nothing else in dist/src imports them (test/deploy.unit.test.ts).
# The bundle is used only when not older than the compiled workflows: touch it last.
RUN npm run build \
 && rm -rf dist/src/simulators \
 && touch dist/workflow-bundle.js

# Final stage: production dependencies and the compiled code only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# @temporalio/testing is a production dependency: `run` without TEMPORAL_ADDRESS needs it.
# @temporalio/core-bridge ships native libraries for five platforms (137 MB) and its Rust
# sources; only this platform's library is loaded. Removing the rest: 278 MB -> 159 MB.
RUN npm ci --omit=dev --ignore-scripts \
 && npm cache clean --force \
 && cd node_modules/@temporalio/core-bridge \
 && target="$(node -p "require('./common').getPrebuiltTargetName()")" \
 && find releases -mindepth 1 -maxdepth 1 ! -name "$target" -exec rm -rf {} + \
 && test -f "releases/$target/index.node" \
 && rm -rf sdk-core src bridge-macros Cargo.toml Cargo.lock
COPY --from=build /app/dist/src ./dist/src
# After dist/src, so the bundle is not older than the workflows it was made from.
COPY --from=build /app/dist/workflow-bundle.js ./dist/workflow-bundle.js
# The node image's `node` user, numeric so that Kubernetes can check runAsNonRoot.
USER 1000
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["worker"]
