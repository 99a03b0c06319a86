# A local stand-in for the official nginx image, for `make docker-test` (no image registry is reachable
# there): Debian bookworm's nginx (1.22) on the test's base image. examples/compose-scaled/ runs it in place of
# nginx through docker/compose-scaled.test.yml, with the example's nginx.conf mounted over the package's.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
