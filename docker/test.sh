#!/usr/bin/env bash
# `make docker-test`: the Dockerfile and examples/compose/ tested for real (docs/docker.md).
#
#  1. tools: docker, dockerd, docker-compose, debootstrap; on CI as root, installed from Debian when missing
#  2. a Docker engine: the one answering already, else a dockerd of our own (own socket, stopped by PID)
#  3. the base image from Debian packages (debootstrap, cached in .cache/docker/), as no registry is reachable
#  4. wheels for aoai-mock and its dependencies, built on the host (HTTPS is not trusted inside containers)
#  5. the image: healthy, the openai SDK answered through the published port, non-root, stops within 2 s;
#     with --tls: healthy, and the SDK answered over HTTPS trusting only the CA copied out of the container
#  6. the compose example: the app container calls http://aoai-mock:8000 by service name and exits 0
#  7. the scaled example: three replicas on one Redis behind nginx (local stand-ins for the official redis and
#     nginx images, from Debian packages); its client finds one fault schedule and one quota, and exits 0
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=$ROOT/.cache/docker
WHEELS_REL=.cache/docker/wheels # relative: the Dockerfile's WHEELHOUSE is a folder of the build context
BASE_IMAGE=aoai-mock-base:bookworm
IMAGE=aoai-mock:test
APP_IMAGE=aoai-mock-example-app:test
CLIENT_IMAGE=aoai-mock-scaled-client:test
REDIS_IMAGE=aoai-mock-redis:test # stand-ins for redis:7 and nginx (docker/redis.Dockerfile, docker/nginx.Dockerfile)
NGINX_IMAGE=aoai-mock-nginx:test
PROJECT=aoai-mock-test-$$
PY=$ROOT/.venv/bin/python
CONTAINER=""
STARTED_DOCKERD=""
RUN_DIR=""
T0=$SECONDS

step() { printf '\n== docker-test [%ss] %s\n' "$((SECONDS - T0))" "$*"; }
fail() { printf 'docker-test: FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
    local rc=$?
    set +e
    if [ -n "$CONTAINER" ]; then docker rm -f "$CONTAINER" >/dev/null 2>&1; fi
    if [ -n "${COMPOSE_UP:-}" ]; then compose down --volumes --remove-orphans >/dev/null 2>&1; fi
    if [ -n "${SCALED_UP:-}" ]; then compose_scaled down --volumes --remove-orphans >/dev/null 2>&1; fi
    if [ -n "$STARTED_DOCKERD" ]; then
        kill "$STARTED_DOCKERD" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$STARTED_DOCKERD" 2>/dev/null
        wait "$STARTED_DOCKERD" 2>/dev/null
        # dockerd mounts its data root on itself; a killed one can leave that mount behind
        if mountpoint -q "$CACHE/dockerd"; then umount "$CACHE/dockerd"; fi
    fi
    if [ -n "$RUN_DIR" ]; then rm -rf "$RUN_DIR"; fi
    if [ "$rc" -eq 0 ]; then
        printf '\ndocker-test: all checks passed in %ss\n' "$((SECONDS - T0))"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Tools. Outside CI nothing is installed: a missing tool skips the test with the command to run.
need_tools() {
    local missing=()
    for tool in docker dockerd docker-compose debootstrap; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "${CI:-}" = "true" ] && [ "$(id -u)" -eq 0 ]; then
        step "installing docker.io docker-compose debootstrap (missing: ${missing[*]})"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose debootstrap >/dev/null
        return 0
    fi
    local msg="missing ${missing[*]}; install them with: apt-get install -y docker.io docker-compose debootstrap"
    if [ "${CI:-}" = "true" ]; then fail "$msg (not root, so not installed here)"; fi
    printf 'docker-test: SKIPPED: %s\n' "$msg"
    trap - EXIT
    exit 0
}

# 2. An engine: DOCKER_HOST or the default socket if one answers, else our own dockerd. Its data root is
#    kept in .cache/docker/dockerd so the base image and build layers survive to the next run.
need_engine() {
    if docker info >/dev/null 2>&1; then
        step "using the Docker engine at ${DOCKER_HOST:-the default socket}"
        return
    fi
    RUN_DIR=$(mktemp -d /tmp/aoai-mock-dockerd.XXXXXX) # short: a socket path has at most 107 bytes
    mkdir -p "$CACHE/dockerd"
    step "starting dockerd (socket $RUN_DIR/docker.sock, data root $CACHE/dockerd)"
    dockerd --host "unix://$RUN_DIR/docker.sock" --data-root "$CACHE/dockerd" --exec-root "$RUN_DIR/exec" \
        --pidfile "$RUN_DIR/docker.pid" >"$RUN_DIR/dockerd.log" 2>&1 &
    STARTED_DOCKERD=$!
    export DOCKER_HOST="unix://$RUN_DIR/docker.sock"
    for _ in $(seq 150); do
        docker info >/dev/null 2>&1 && return
        kill -0 "$STARTED_DOCKERD" 2>/dev/null || break
        sleep 0.2
    done
    tail -20 "$RUN_DIR/dockerd.log" >&2
    fail "dockerd did not answer within 30 s"
}

# 3. The base image: Debian bookworm with python3 and venv, from the mirror apt already uses. The root
#    file system is made once and kept as a tarball; it is imported when the engine lacks the image.
need_base_image() {
    docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return
    local tarball=$CACHE/base-bookworm.tar
    if [ ! -s "$tarball" ]; then
        local mirror rootfs
        mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Release: bookworm' 2>/dev/null | grep -m1 debian/ ||
            true)
        mirror=${mirror:-http://deb.debian.org/debian/}
        rootfs=$(mktemp -d "$CACHE/rootfs.XXXXXX")
        step "debootstrap bookworm from $mirror (once; about a minute)"
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" \
            "$mirror" >"$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log" >&2; fail debootstrap; }
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
            "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
        tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$rootfs"
    fi
    step "docker import $BASE_IMAGE"
    docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' "$tarball" "$BASE_IMAGE" >/dev/null
}

# 4. Wheels: aoai-mock's own when its sources change; its dependencies (and openai, for the example app) when
#    pyproject.toml changes.
need_wheels() {
    local wheels=$ROOT/$WHEELS_REL stamp
    stamp=$(sha256sum pyproject.toml examples/compose/app/requirements.txt examples/compose-scaled/client/requirements.txt |
        sha256sum | cut -c1-16)
    mkdir -p "$wheels"
    if [ "$(cat "$wheels/.stamp" 2>/dev/null)" != "$stamp" ]; then
        step "pip wheel: aoai-mock's dependencies and openai into $WHEELS_REL"
        rm -f "$wheels"/*.whl
        # async-timeout: redis asks for it on Pythons before 3.11.3, as the image's (bookworm's 3.11.2) is, and
        # pip here resolves for this machine's Python, which may be newer.
        "$PY" -m pip wheel --quiet -w "$wheels" ".[otel]" "async-timeout>=4.0.3" \
            -r examples/compose/app/requirements.txt -r examples/compose-scaled/client/requirements.txt \
            >"$CACHE/pip-wheel.log" 2>&1 ||
            { tail -30 "$CACHE/pip-wheel.log" >&2; fail "pip wheel"; }
        echo "$stamp" >"$wheels/.stamp"
    fi
    # aoai-mock's wheel only when its sources changed: the same wheel keeps the image build cached.
    stamp=$(find server pyproject.toml README.md -type f ! -name '*.pyc' ! -path '*.egg-info/*' -print0 | sort -z |
        xargs -0 sha256sum | sha256sum | cut -c1-16)
    if [ "$(cat "$wheels/.stamp-aoai-mock" 2>/dev/null)" != "$stamp" ] || ! ls "$wheels"/aoai_mock-*.whl >/dev/null 2>&1; then
        step "pip wheel: aoai-mock (dependencies cached in $WHEELS_REL)"
        rm -f "$wheels"/aoai_mock-*.whl
        "$PY" -m pip wheel --quiet --no-deps -w "$wheels" . >"$CACHE/pip-wheel.log" 2>&1 ||
            { tail -30 "$CACHE/pip-wheel.log" >&2; fail "pip wheel"; }
        echo "$stamp" >"$wheels/.stamp-aoai-mock"
    fi
}

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_healthy() { # container, seconds
    local status
    for _ in $(seq $(($2 * 5))); do
        status=$(docker inspect -f '{{.State.Health.Status}}' "$1")
        [ "$status" = healthy ] && return 0
        [ "$(docker inspect -f '{{.State.Running}}' "$1")" = true ] || break
        sleep 0.2
    done
    docker logs "$1" >&2 || true
    fail "container $1 is not healthy (status: ${status:-none})"
}

# 5. The image, alone.
test_image() {
    step "docker build $IMAGE (BASE_IMAGE=$BASE_IMAGE, WHEELHOUSE=$WHEELS_REL)"
    docker build --quiet --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "WHEELHOUSE=$WHEELS_REL" -t "$IMAGE" . \
        >/dev/null
    local size port started
    size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
    printf 'image %s: %s MB (base %s MB)\n' "$IMAGE" "$((size / 1000000))" \
        "$(($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE") / 1000000))"

    port=$(free_port)
    step "docker run $IMAGE on 127.0.0.1:$port, examples/compose/scenarios at /scenarios"
    started=$SECONDS
    CONTAINER=$(docker run --detach --health-interval 1s -p "127.0.0.1:$port:8000" -e AOAI_MOCK_SEED=7 \
        -e AOAI_MOCK_ADMIN_KEY=docker-test-admin -v "$ROOT/examples/compose/scenarios:/scenarios:ro" "$IMAGE")
    wait_healthy "$CONTAINER" 60
    echo "healthy after $((SECONDS - started)) s"

    step "openai SDK (host .venv) against the container"
    "$PY" docker/sdk_check.py "http://127.0.0.1:$port"

    step "the control API needs the admin key"
    local code_no code_key
    code_no=$("$PY" -c "import httpx,sys; print(httpx.get(sys.argv[1] + '/_mock/requests').status_code)" "http://127.0.0.1:$port")
    code_key=$("$PY" -c "import httpx,sys; print(httpx.get(sys.argv[1] + '/_mock/requests', headers={'x-aoai-mock-admin-key': 'docker-test-admin'}).status_code)" "http://127.0.0.1:$port")
    echo "without the key $code_no, with it $code_key"
    [ "$code_no" = 401 ] && [ "$code_key" = 200 ] || fail "the admin key does not guard the control API"

    step "without an admin key the image refuses to start (exit 2, says why)"
    local refused
    refused=$(docker run --rm "$IMAGE" 2>&1) && fail "the image started with an open control API on 0.0.0.0"
    echo "$refused" | grep -q -- "--insecure-control-api" || fail "the refusal does not say what to do: $refused"
    echo "refused: $(echo "$refused" | head -c 120)..."

    step "runs as non-root"
    local uid
    uid=$(docker exec "$CONTAINER" id -u)
    [ "$uid" != 0 ] || fail "the server runs as root"
    echo "uid $uid ($(docker exec "$CONTAINER" id -un))"

    step "docker stop: SIGTERM, stopped within 2 s"
    local t_start t_ms code
    t_start=$(date +%s%N)
    docker stop --time 10 "$CONTAINER" >/dev/null
    t_ms=$((($(date +%s%N) - t_start) / 1000000))
    code=$(docker inspect -f '{{.State.ExitCode}}' "$CONTAINER")
    echo "stopped in ${t_ms} ms, exit code $code"
    [ "$t_ms" -lt 2000 ] || fail "docker stop took ${t_ms} ms"
    [ "$code" = 0 ] || fail "exit code $code after SIGTERM (137 means it was killed)"
    docker rm "$CONTAINER" >/dev/null
    CONTAINER=""
    test_image_tls
}

# 5b. --tls in the image (docs/https.md): the CA out of the container with docker cp, trusted by SSL_CERT_FILE.
test_image_tls() {
    local port ca
    port=$(free_port)
    step "docker run $IMAGE --tls on 127.0.0.1:$port"
    CONTAINER=$(docker run --detach --health-interval 1s -p "127.0.0.1:$port:8000" -e AOAI_MOCK_ADMIN_KEY=docker-test-admin \
        -v "$ROOT/examples/compose/scenarios:/scenarios:ro" "$IMAGE" --tls)
    wait_healthy "$CONTAINER" 60
    ca=$CACHE/tls-ca.pem
    docker cp "$CONTAINER:/data/tls/ca.pem" "$ca"
    SSL_CERT_FILE=$ca "$PY" docker/sdk_check.py "https://127.0.0.1:$port"
    "$PY" -c "import httpx, sys; httpx.get(sys.argv[1])" "https://127.0.0.1:$port/_mock/health" 2>/dev/null &&
        fail "an HTTPS client that does not trust the CA reached the container"
    docker rm -f "$CONTAINER" >/dev/null
    CONTAINER=""
}

compose() {
    AOAI_MOCK_IMAGE=$IMAGE APP_IMAGE=$APP_IMAGE AOAI_MOCK_HOST_PORT=${COMPOSE_PORT:-8000} \
        docker-compose --project-name "$PROJECT" --file examples/compose/docker-compose.yml "$@"
}

# An example's Python image (the folder's Dockerfile and requirements.txt), from the wheelhouse: folder, tag.
# Without aoai-mock's own wheel, which the examples do not install: a change to the sources keeps them cached.
build_from_wheels() {
    local context=$CACHE/app-context
    rm -rf "$context" && mkdir -p "$context/wheels"
    cp "$1"/* "$context/"
    cp -l "$ROOT/$WHEELS_REL"/*.whl "$context/wheels/" 2>/dev/null || cp "$ROOT/$WHEELS_REL"/*.whl "$context/wheels/"
    rm -f "$context"/wheels/aoai_mock-*.whl
    docker build --quiet --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg WHEELHOUSE=wheels -t "$2" "$context" \
        >/dev/null
    rm -rf "$context"
}

# 6. The compose example, with the images built here (its `build:` sections fetch from PyPI).
test_compose() {
    step "docker build $APP_IMAGE (examples/compose/app, openai from the wheelhouse)"
    build_from_wheels examples/compose/app "$APP_IMAGE"

    step "docker-compose up: app -> http://aoai-mock:8000 once aoai-mock is healthy"
    COMPOSE_PORT=$(free_port)
    COMPOSE_UP=1
    compose up --no-build --exit-code-from app || fail "the compose run failed (app's exit code: $?)"
    compose down --volumes --remove-orphans
    COMPOSE_UP=""
}

compose_scaled() {
    AOAI_MOCK_IMAGE=$IMAGE CLIENT_IMAGE=$CLIENT_IMAGE REDIS_IMAGE=$REDIS_IMAGE NGINX_IMAGE=$NGINX_IMAGE \
        AOAI_MOCK_HOST_PORT=${COMPOSE_PORT:-8000} docker-compose --project-name "$PROJECT-scaled" \
        --file examples/compose-scaled/compose.yaml --file docker/compose-scaled.test.yml "$@"
}

# 7. The scaled example: redis:7 and nginx replaced by images of Debian's packages (the override file).
test_compose_scaled() {
    step "docker build $REDIS_IMAGE and $NGINX_IMAGE (Debian's redis-server and nginx), $CLIENT_IMAGE"
    docker build --quiet --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$REDIS_IMAGE" - <docker/redis.Dockerfile >/dev/null
    docker build --quiet --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$NGINX_IMAGE" - <docker/nginx.Dockerfile >/dev/null
    build_from_wheels examples/compose-scaled/client "$CLIENT_IMAGE"

    step "docker-compose up: client -> nginx -> aoai-mock-1..3 -> redis"
    COMPOSE_PORT=$(free_port)
    SCALED_UP=1
    compose_scaled up --no-build --exit-code-from client || fail "the scaled compose run failed (client's exit code: $?)"
    compose_scaled down --volumes --remove-orphans
    SCALED_UP=""
}

need_tools
need_engine
need_base_image
need_wheels
test_image
test_compose
test_compose_scaled
