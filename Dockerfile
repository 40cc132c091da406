# Multi-stage build: compile on bookworm with the -dev packages, run on
# bookworm-slim with only the runtime libraries, as a non-root user.
# Flags are passed as the command, as with the original image:
#   docker run -p 53053:53053/udp -v "$PWD/keys:/app/keys:ro" IMAGE \
#     --hosted-zone example.test --ns '["ns1.example.net","ns2.example.net"]' \
#     --zone-resolutions '{"www":{"ips":["192.0.2.10"],"health_port":80}}'
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc make pkg-config libc6-dev libldns-dev libjson-c-dev libbsd-dev \
      libssl-dev libsystemd-dev libseccomp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY include include
COPY src src
RUN make all CFLAGS="-O2 -g0" && strip build/a-healthy-dns

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libldns3 libjson-c5 libbsd0 libssl3 libsystemd0 libseccomp2 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin a-healthy-dns \
 && mkdir -p /app/keys
COPY --from=build /src/build/a-healthy-dns /usr/sbin/a-healthy-dns
WORKDIR /app
USER a-healthy-dns
EXPOSE 53053/udp 53053/tcp
ENTRYPOINT ["/usr/sbin/a-healthy-dns"]
CMD ["--help"]
