# A Tor bridge with the Dust pluggable transport: Debian's tor, Node 20 and the dust bundle.
# Build:  docker build -t dust-bridge .
# Run:    docker run -d --name dust-bridge -p 9001:9001 -p 8443:8443 \
#           -e PUBLIC_ADDRESS=203.0.113.10 -e DUST_MODEL=http -v dust-bridge:/var/lib/tor dust-bridge
# Then:   docker exec dust-bridge cat /var/lib/tor/pt_state/dust_bridgeline.txt
# See docs/deploy.md for every setting.

# 1. Build the single-file bundle (dist/dust.cjs) with the project's own toolchain.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY models ./models
COPY src ./src
RUN npm run build

# 2. The bridge: Debian bookworm's tor plus Node 20 (bookworm's own nodejs is 18).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tor \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# The bundle starts with "#!/usr/bin/env node": env execs node, so tor's signals reach Node itself.
COPY --from=build --chmod=755 /src/dist/dust.cjs /usr/local/bin/dust
COPY --chmod=755 docker/entrypoint.sh /usr/local/bin/dust-bridge-entrypoint

ENV OR_PORT=9001 \
    PT_PORT=8443 \
    PUBLIC_ADDRESS= \
    DUST_MODEL=http \
    NICKNAME=DustBridge \
    CONTACT_INFO= \
    PUBLISH_DESCRIPTOR=1 \
    DUST_LOG_LEVEL=

# tor's keys and the PT's state (dust_state.json, dust_bridgeline.txt) live here: keep it on a volume.
VOLUME /var/lib/tor
EXPOSE 9001 8443
USER debian-tor
ENTRYPOINT ["/usr/local/bin/dust-bridge-entrypoint"]
