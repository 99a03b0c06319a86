# aoai-mock as a container: docs/docker.md.
#
#   docker build -t aoai-mock .
#   docker run --rm -p 8000:8000 aoai-mock
#   docker run --rm -p 8443:8000 aoai-mock --tls    (HTTPS: docs/https.md)
#
# BASE_IMAGE: any Debian-like image with python3 (>= 3.11) and its venv module. `make docker-test` passes one
# it makes from Debian packages, as no image registry is reachable there.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
# WHEELHOUSE: empty (the default) installs aoai-mock and its dependencies from PyPI. A folder of the build
# context holding wheels for aoai-mock and every dependency installs from it alone, offline
# (`make docker-test` fills .cache/docker/wheels with `pip wheel`). The otel extra is in: `--otel` works
# in the image (docs/opentelemetry.md).
ARG WHEELHOUSE=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY . /src
RUN python3 -m venv /opt/aoai-mock \
 && if [ -n "$WHEELHOUSE" ]; then \
        /opt/aoai-mock/bin/pip install --no-index --find-links "/src/$WHEELHOUSE" "aoai-mock[otel]"; \
    else \
        /opt/aoai-mock/bin/pip install "/src[otel]"; \
    fi \
 && /opt/aoai-mock/bin/python -m pip uninstall --yes --quiet pip setuptools

FROM ${BASE_IMAGE}
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin aoai \
 && mkdir -p /scenarios /data/tls \
 && chown -R aoai:aoai /data
# Only the virtual environment: no sources, wheels or pip. Its .pyc files are compiled, so a start reads them.
COPY --from=build /opt/aoai-mock /opt/aoai-mock
# Every AOAI_MOCK_* variable configures the server (README.md, docs/configuration.md). Scenario files
# mounted at /scenarios (*.yaml, *.yml) are loaded at start; an empty /scenarios loads nothing.
# With --tls the CA and the server certificate are in /data/tls: `docker cp CONTAINER:/data/tls/ca.pem .`, or
# mount a volume there to keep one CA across containers (docs/https.md).
ENV PATH=/opt/aoai-mock/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AOAI_MOCK_HOST=0.0.0.0 \
    AOAI_MOCK_PORT=8000 \
    AOAI_MOCK_SCENARIOS=/scenarios \
    AOAI_MOCK_TLS_DIR=/data/tls
USER aoai
WORKDIR /data
EXPOSE 8000
# Slim images have no curl: the venv's Python asks /_mock/health (always open, even with an admin key), over
# HTTP, else over HTTPS (--tls), where the container asks itself and so does not verify the certificate.
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, ssl, urllib.request as u; p = os.environ.get('AOAI_MOCK_PORT') or 8000\ntry: u.urlopen('http://127.0.0.1:%s/_mock/health' % p, timeout=1)\nexcept Exception: u.urlopen('https://127.0.0.1:%s/_mock/health' % p, timeout=1, context=ssl._create_unverified_context())"]
# Exec form: the server is PID 1 and gets SIGTERM itself; uvicorn stops within a second.
ENTRYPOINT ["aoai-mock", "serve"]
