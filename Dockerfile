# syntax=docker/dockerfile:1
#
# koogate's image. Build from the repository root:
#   docker build -t koogate:0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
# Node 24 is the LTS line with the longest support ahead (maintenance until April 2028; 22 ends in April
# 2027). package.json's engines (>=20.19, for require(esm)) allows it, and koogate needs nothing of one
# major version: CI runs the tests on Node 20.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
# Keep VERSION equal to package.json's version (test/unit/deploy-files.test.ts checks it); REVISION is
# the commit the image is built from, SOURCE where that commit can be found.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=
LABEL org.opencontainers.image.title="koogate" \
      org.opencontainers.image.description="SSO login gateway for Huawei Cloud KooGallery joint-operation SaaS" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="UNLICENSED"
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root views ./views
# Sample kit and basic bodies, for `docker exec koogate node dist/src/cli.js kit send … --data examples/…`.
COPY --chown=root:root examples ./examples
# The node user (uid 1000); nothing is written to disk, so the root filesystem may be read-only.
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/_koogate/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
