# A local stand-in for the official redis:7 image, for `make docker-test` (no image registry is reachable
# there): Debian bookworm's redis-server (7.0) on the test's base image. examples/compose-scaled/ runs it in
# place of redis:7 through docker/compose-scaled.test.yml.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
USER redis
WORKDIR /var/lib/redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
