"""HTTPS (docs/https.md): ``aoai-mock serve --tls`` as users run it, the certificates it makes, the user's own
pair, ``aoai-mock wait`` with a CA, ``--workers`` over TLS, ``LiveServer`` with TLS, and wss:// on the same port.
Clients trust only the mock's CA: httpx's default trust (certifi's public CAs) must fail."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import trustme
import uvicorn
from aoai_mock.console import Https, Start, banner, banner_json
from aoai_mock.http.protocol import UVICORN_OPTIONS
from aoai_mock.settings import ConfigError, resolve
from aoai_mock.testing import LiveServer
from aoai_mock.tls import generated, server_names
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from tests.conftest import KEY
from tests.test_cli_console import aoai_mock, serve

CHAT = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
BODY = {"messages": [{"role": "user", "content": "Over TLS?"}]}


@pytest.fixture(autouse=True)
def _no_ca_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client's default trust here is the public CAs only, whatever the test run's environment says."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
        monkeypatch.delenv(name, raising=False)


def trusting(ca: Path | str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def _verify(folder: Path, name: str) -> list[x509.Certificate]:
    """The server certificate's chain to the folder's CA, as a strict (RFC 5280, CA/B Forum) verifier builds it."""
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificate((folder / "server.pem").read_bytes())
    try:
        subject: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        subject = x509.DNSName(name)
    return PolicyBuilder().store(Store([ca])).build_server_verifier(subject).verify(leaf, [])


# -- the certificates ------------------------------------------------------------------------------------------


def test_the_ca_is_made_once_and_a_new_server_certificate_at_each_start(tmp_path: Path):
    first = generated(tmp_path)
    ca, leaf = (tmp_path / "ca.pem").read_bytes(), (tmp_path / "server.pem").read_bytes()
    again = generated(tmp_path)
    assert (tmp_path / "ca.pem").read_bytes() == ca and (tmp_path / "server.pem").read_bytes() != leaf
    assert first == again and first.ca == tmp_path / "ca.pem" and first.names == ("localhost", "127.0.0.1", "::1")
    for name in ("localhost", "127.0.0.1", "::1"):
        assert len(_verify(tmp_path, name)) == 2
    with pytest.raises(x509.verification.VerificationError):
        _verify(tmp_path, "example.com")
    assert {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {
        "ca.pem": 0o644, "ca-key.pem": 0o600, "server.pem": 0o600}


def test_a_ca_about_to_expire_is_replaced(tmp_path: Path):
    long_ago = datetime.now(UTC) - timedelta(days=365 * 10 - 100)
    generated(tmp_path, now=long_ago)
    old = (tmp_path / "ca.pem").read_bytes()
    generated(tmp_path)
    assert (tmp_path / "ca.pem").read_bytes() != old
    assert len(_verify(tmp_path, "localhost")) == 2


def test_a_host_naming_one_address_is_in_the_certificate():
    assert server_names("0.0.0.0") == server_names("::") == server_names("localhost") == (
        "localhost", "127.0.0.1", "::1")
    assert server_names("192.168.1.20") == ("localhost", "127.0.0.1", "::1", "192.168.1.20")


def test_settings_tls_from_flags_and_environment(tmp_path: Path):
    assert not resolve({}, env={}).tls
    on = resolve({}, env={"AOAI_MOCK_TLS": "1", "AOAI_MOCK_TLS_DIR": str(tmp_path)})
    assert on.tls and on.tls_dir == tmp_path
    own = resolve({"tls_cert": "c.pem", "tls_key": "k.pem"}, env={})
    assert own.tls and own.tls_cert == Path("c.pem") and own.tls_key == Path("k.pem")
    with pytest.raises(ConfigError, match="--tls-cert and --tls-key go together"):
        resolve({}, env={"AOAI_MOCK_TLS_CERT": "c.pem"})


def test_the_banner_says_where_the_ca_is_and_what_to_export():
    https = Https("/s/server.pem", "/state dir/ca.pem", ("localhost", "127.0.0.1", "::1"))
    start = Start("1.0", "127.0.0.1", 8443, (), (), None, None, 0, False, 1, tls=https)
    text = banner(start)
    assert text.startswith("aoai-mock 1.0 serving https://127.0.0.1:8443\n")
    assert "  https        certificate for localhost, 127.0.0.1, ::1 by the mock's CA /state dir/ca.pem" in text
    assert ("  trust it     export SSL_CERT_FILE='/state dir/ca.pem' REQUESTS_CA_BUNDLE='/state dir/ca.pem' "
            "NODE_EXTRA_CA_CERTS='/state dir/ca.pem'") in text
    line = json.loads(banner_json(start))
    assert line["url"] == "https://127.0.0.1:8443" and line["control_api"] == "https://127.0.0.1:8443/_mock/"
    assert line["tls"]["ca"] == "/state dir/ca.pem" and line["tls"]["names"] == ["localhost", "127.0.0.1", "::1"]
    assert line["tls"]["env"]["NODE_EXTRA_CA_CERTS"] == "/state dir/ca.pem"
    own = banner(Start("1.0", "127.0.0.1", 8443, (), (), None, None, 0, False, 1, tls=Https("/mine.pem")))
    assert "  https        your certificate /mine.pem (--tls-cert)" in own and "export" not in own


# -- the server, a real process ---------------------------------------------------------------------------------


def test_serve_tls_is_trusted_with_its_ca_and_only_with_it(tmp_path: Path):
    folder = tmp_path / "tls"
    with serve(tmp_path, "--tls", "--tls-dir", str(folder), "--log-format", "json") as served:
        assert served.url.startswith("https://127.0.0.1:")
        start = next(json.loads(line) for line in served.stderr().splitlines() if '"event":"start"' in line)
        assert start["url"] == served.url and start["tls"]["ca"] == str(folder / "ca.pem")
        assert start["tls"]["env"] == {name: str(folder / "ca.pem") for name in
                                       ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")}
        with httpx.Client(verify=trusting(folder / "ca.pem")) as client:
            answer = client.post(served.url + CHAT, json=BODY, headers={"api-key": KEY})
        assert answer.status_code == 200 and answer.json()["object"] == "chat.completion"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(served.url + "/_mock/health")  # certifi's public CAs only
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(served.url.replace("https://", "http://") + "/_mock/health")


def test_wait_trusts_cacert_or_ssl_cert_file(tmp_path: Path):
    folder = tmp_path / "tls"
    with serve(tmp_path, "--tls", "--tls-dir", str(folder)) as served:
        ca = str(folder / "ca.pem")
        assert aoai_mock("wait", served.url, "--cacert", ca, "--timeout", "5").returncode == 0
        assert aoai_mock("wait", served.url, "--timeout", "5", env={"SSL_CERT_FILE": ca}).returncode == 0
        refused = aoai_mock("wait", served.url, "--timeout", "0.3", env={"SSL_CERT_FILE": str(tmp_path / "none")})
        assert refused.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr
    missing = aoai_mock("wait", "https://127.0.0.1:9", "--cacert", str(tmp_path / "no.pem"))
    assert missing.returncode == 2 and missing.stderr.startswith("aoai-mock: --cacert ")


def test_serve_with_the_users_own_certificate(tmp_path: Path):
    ca = trustme.CA()
    pair = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "mine.pem", tmp_path / "mine.key"
    pair.cert_chain_pems[0].write_to_path(str(cert))
    pair.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(tmp_path / "their-ca.pem"))
    with serve(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key)) as served:
        assert served.url.startswith("https://")
        with httpx.Client(verify=trusting(tmp_path / "their-ca.pem")) as client:
            assert client.get(served.url + "/_mock/health").status_code == 200
        assert f"your certificate {cert} (--tls-cert)" in served.stderr()


@pytest.mark.parametrize("problem", ["no cert file", "key of another", "not pem", "cert alone", "dir is a file"])
def test_a_certificate_that_cannot_be_used_is_one_line_and_exit_2(tmp_path: Path, problem: str):
    ca = trustme.CA()
    pair, other = ca.issue_cert("localhost"), ca.issue_cert("localhost")
    cert, key, other_key = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "other.pem"
    pair.cert_chain_pems[0].write_to_path(str(cert))
    pair.private_key_pem.write_to_path(str(key))
    other.private_key_pem.write_to_path(str(other_key))
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    args, expected = {
        "no cert file": (["--tls-cert", str(tmp_path / "gone.pem"), "--tls-key", str(key)],
                         f"aoai-mock: not starting: --tls-cert {tmp_path / 'gone.pem'}: no such file"),
        "key of another": (["--tls-cert", str(cert), "--tls-key", str(other_key)],
                           f"aoai-mock: not starting: --tls-key {other_key} is not the key of --tls-cert {cert}"),
        "not pem": (["--tls-cert", str(tmp_path / "junk.pem"), "--tls-key", str(key)],
                    f"aoai-mock: not starting: --tls-cert {tmp_path / 'junk.pem'} and --tls-key {key}: not a "
                    "certificate and its key in PEM"),
        "cert alone": (["--tls-cert", str(cert)], "aoai-mock: --tls-cert and --tls-key go together"),
        "dir is a file": (["--tls", "--tls-dir", str(cert)], f"aoai-mock: not starting: --tls-dir {cert}: "),
    }[problem]
    done = aoai_mock("serve", "--port", "0", *args, timeout=30)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(expected), done.stderr


def test_workers_serve_tls_and_the_banner_waits_for_them(tmp_path: Path):
    folder = tmp_path / "tls"
    with serve(tmp_path, "--tls", "--tls-dir", str(folder), "--workers", "2") as served:
        assert served.url.startswith("https://")  # written once a worker answered over TLS
        with httpx.Client(verify=trusting(folder / "ca.pem")) as client:
            assert client.post(served.url + CHAT, json=BODY, headers={"api-key": KEY}).status_code == 200
        assert "workers      2" in served.stderr()


# -- LiveServer and wss:// ----------------------------------------------------------------------------------------


def test_live_server_serves_tls_with_a_ca_of_its_own():
    with LiveServer(resolve({"port": 0, "tls": True}, env={})) as server:
        assert server.url.startswith("https://127.0.0.1:") and server.ca is not None
        folder = server.ca.parent
        with httpx.Client(base_url=server.url, verify=server.ssl_context()) as client:
            assert client.post(CHAT, json=BODY, headers={"api-key": KEY}).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/_mock/health")
    assert not folder.exists()  # its temporary CA went with it
    with LiveServer(resolve({"port": 0}, env={})) as plain:
        assert plain.url.startswith("http://") and plain.ca is None
        with pytest.raises(ValueError):
            plain.ssl_context()


async def _echo(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
    """A websocket that sends back what it gets (the realtime API's own tests use the mock's)."""
    assert scope["type"] == "websocket"
    await receive()
    await send({"type": "websocket.accept"})
    message = await receive()
    await send({"type": "websocket.send", "text": "echo: " + message["text"]})
    await send({"type": "websocket.close"})


def test_uvicorn_as_the_mock_runs_it_serves_wss_on_the_tls_port(tmp_path: Path):
    """The openai SDK's Azure realtime client dials wss:// on the endpoint's host: uvicorn, with the mock's
    options and certificate, upgrades a websocket on the same TLS port (the websockets library is installed)."""
    from websockets.asyncio.client import connect

    files = generated(tmp_path)
    config = uvicorn.Config(_echo, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                            ssl_certfile=str(files.certfile), ssl_keyfile=str(files.keyfile), **UVICORN_OPTIONS)
    server = uvicorn.Server(config)

    async def scenario() -> str:
        serving = asyncio.create_task(server.serve())
        while not server.started:
            assert not serving.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            async with connect(f"wss://127.0.0.1:{port}/openai/realtime", ssl=trusting(files.ca or "")) as ws:
                await ws.send("hello")
                return str(await ws.recv())
        finally:
            server.should_exit = True
            await serving

    assert asyncio.run(asyncio.wait_for(scenario(), 20)) == "echo: hello"
