# a-healthy-dns container image. Multi-stage: the build stage compiles on
# bookworm with the -dev packages and assembles a root filesystem holding
# only the binary, the shared libraries it loads (found with ldd, so the
# list follows the Makefile's libraries), a POSIX shell for the entrypoint
# and the account files; the runtime image is that tree on scratch.
#
# The original's container contract holds: flags are passed as the command,
# DNSSEC keys are mounted at /app/keys, and the DNS_* variables of the
# original image still work (packaging/docker-entrypoint.sh):
#   docker run -p 53053:53053/udp -p 53053:53053/tcp \
#     -v "$PWD/keys:/app/keys:ro" IMAGE \
#     --hosted-zone example.test --ns '["ns1.example.net","ns2.example.net"]' \
#     --zone-resolutions '{"www":{"ips":["192.0.2.10"],"health_port":80}}'
# It runs as the non-root uid 65532 and so listens on 53053 by default
# (the original image defaulted to 53). For port 53 inside the container,
# add --sysctl net.ipv4.ip_unprivileged_port_start=53 (or the
# NET_BIND_SERVICE capability) and --port 53 / DNS_PORT=53.
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc make pkg-config libc6-dev libldns-dev libjson-c-dev libbsd-dev \
      libssl-dev libseccomp-dev clang libbpf-dev libxdp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY include include
COPY src src
# Debian's hardening flags, spelled out: dpkg-buildflags is not in slim.
RUN make all \
      CPPFLAGS="-D_FORTIFY_SOURCE=2" \
      CFLAGS="-O2 -g0 -fstack-protector-strong -fstack-clash-protection -fcf-protection" \
      LDFLAGS="-Wl,-z,relro,-z,now" \
 && strip build/a-healthy-dns

# The runtime tree, merged-/usr like bookworm; the chroot at the end
# proves that nothing the binary loads is missing from it. /dev, /proc and /dev/shm
# (where the zone image lives) are mounted by the container runtime.
COPY packaging/docker-entrypoint.sh /rootfs/usr/local/bin/docker-entrypoint.sh
RUN set -eu; R=/rootfs; \
    mkdir -p $R/usr/bin $R/usr/sbin $R/usr/lib $R/usr/lib64 $R/etc \
      $R/app/keys $R/dev $R/proc $R/sys $R/tmp; \
    for d in bin sbin lib lib64; do ln -s usr/$d $R/$d; done; \
    cp build/a-healthy-dns $R/usr/sbin/a-healthy-dns; \
    cp /usr/bin/dash $R/usr/bin/dash; ln -s dash $R/usr/bin/sh; \
    for f in $(ldd build/a-healthy-dns /usr/bin/dash \
        | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && NF > 1 {print $1}' \
        | sort -u); do \
      cp -L --parents "$f" $R; \
    done; \
    printf '%s\n' 'root:x:0:0:root:/root:/usr/sbin/nologin' \
      'a-healthy-dns:x:65532:65532:a-healthy-dns:/nonexistent:/usr/sbin/nologin' \
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' > $R/etc/passwd; \
    printf '%s\n' 'root:x:0:' 'a-healthy-dns:x:65532:' 'nogroup:x:65534:' > $R/etc/group; \
    printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' > $R/etc/nsswitch.conf; \
    chmod 0755 $R/usr/local/bin/docker-entrypoint.sh; \
    chmod 1777 $R/tmp; \
    chown 65532:65532 $R/app/keys; chmod 0700 $R/app/keys; \
    chroot $R /usr/sbin/a-healthy-dns --version

FROM scratch
COPY --from=build /rootfs/ /
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
VOLUME ["/app/keys"]
EXPOSE 53053/udp 53053/tcp
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
