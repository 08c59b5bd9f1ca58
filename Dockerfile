# syntax=docker/dockerfile:1
# zigquant: multi-stage build. Stage 1 compiles the release binary with the Rust toolchain,
# stage 2 is a slim Debian runtime running it as an unprivileged user.
#   docker build -t zigquant .
#   docker run --rm -p 127.0.0.1:8080:8080 -v zigquant-data:/data zigquant
ARG RUST_VERSION=1
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target dir between builds (BuildKit); the binary is copied
# out of the cached target dir.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin zigquant \
    && install -D -m 0755 target/release/zigquant /out/zigquant

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 zigquant \
    && useradd --system --uid 10001 --gid zigquant --home-dir /data --shell /usr/sbin/nologin zigquant \
    && install -d -o zigquant -g zigquant -m 0750 /data
COPY --from=build /out/zigquant /usr/local/bin/zigquant
USER zigquant:zigquant
WORKDIR /data
VOLUME ["/data"]
# Inside the container zigquant must listen on all interfaces to be reachable through the port
# mapping; publish it on the host's loopback only (see deploy/docker-compose.yml).
ENV ZQ_LISTEN=0.0.0.0:8080 \
    ZQ_DATA_DIR=/data
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/zigquant"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--data-dir", "/data"]
