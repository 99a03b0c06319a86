"""HTTPS: the certificate the server presents, made at start by a local CA of the mock's own, or the user's.

``--tls`` keeps a CA in a folder (``--tls-dir``; by default ``$XDG_STATE_HOME/aoai-mock/tls``) and signs a new
server certificate for ``localhost``, ``127.0.0.1``, ``::1`` (and the ``--host`` when it names one address) at
every start. The CA is made once and kept, so a client told to trust ``ca.pem`` goes on trusting restarted
servers. The folder holds:

- ``ca.pem``: the CA certificate, what clients trust (``SSL_CERT_FILE``, ``NODE_EXTRA_CA_CERTS``, ...);
- ``ca-key.pem``: the CA's key and certificate (mode 0600), created at most once: two servers starting
  together agree on one CA (it is linked into place, and the loser reads the winner's);
- ``server.pem``: the server's certificate and key in one file (mode 0600), replaced whole at each start, so
  a server never reads one start's certificate with another's key.

``--tls-cert``/``--tls-key`` serve the user's own pair instead, checked by loading it as the server will.
The certificates come from ``cryptography`` (imported only with TLS on), ECDSA P-256 keys, with the extensions
strict verifiers ask for (Python 3.13's ``VERIFY_X509_STRICT``: key usages, key identifiers, a critical
basic-constraints on the CA).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["TlsFiles", "TlsError", "default_dir", "generated", "own", "server_names"]

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
_CA_YEARS = 10
_SERVER_DAYS = 365
_SKEW = timedelta(days=1)  # not valid before yesterday: a container's clock a little behind the host's still accepts


class TlsError(Exception):
    """A certificate or key cannot be used, or the folder cannot be written; the message is one line."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """What uvicorn serves with (``certfile``, ``keyfile``) and the CA a client trusts, when the mock made it."""

    certfile: Path
    keyfile: Path
    ca: Path | None  # None: the user's own certificate, whose CA the mock does not know
    names: tuple[str, ...] = ()  # the server certificate's names, when the mock made it


def default_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/aoai-mock/tls``, else ``~/.local/state/aoai-mock/tls``: kept across restarts."""
    env = os.environ if env is None else env
    state = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "aoai-mock" / "tls"


def server_names(host: str) -> tuple[str, ...]:
    """The names the server certificate is for: loopback's, and ``host`` when it is one address or name (a
    wildcard such as ``0.0.0.0`` names none)."""
    extra = host.strip("[]")
    if extra in ("", "0.0.0.0", "::") or extra in LOCAL_NAMES:
        return LOCAL_NAMES
    return (*LOCAL_NAMES, extra)


def own(certfile: Path, keyfile: Path) -> TlsFiles:
    """The user's certificate and key, loaded once as the server will load them: a missing file, a file that is
    not PEM, or a key that is not the certificate's is a :class:`TlsError` now, not a traceback later."""
    for flag, path in (("--tls-cert", certfile), ("--tls-key", keyfile)):
        if not path.is_file():
            raise TlsError(f"{flag} {path}: no such file")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TlsError(f"--tls-key {keyfile} is not the key of --tls-cert {certfile}") from None
        raise TlsError(f"--tls-cert {certfile} and --tls-key {keyfile}: not a certificate and its key in PEM "
                       f"({(exc.reason or 'unreadable').lower().replace('_', ' ')})") from None
    except OSError as exc:
        raise TlsError(f"--tls-cert {certfile} and --tls-key {keyfile}: {exc.strerror or exc}") from None
    return TlsFiles(certfile, keyfile, None)


def generated(folder: Path, names: tuple[str, ...] = LOCAL_NAMES, now: datetime | None = None) -> TlsFiles:
    """The folder's CA (made when absent or expiring) and a new server certificate for ``names``, signed by it."""
    now = now or datetime.now(UTC)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ca_cert, ca_key = _ca(folder, now)
        server = folder / "server.pem"
        _write_private(server, _server_pem(ca_cert, ca_key, names, now), replace=True)
    except OSError as exc:
        raise TlsError(f"--tls-dir {folder}: {exc.strerror or exc}") from None
    return TlsFiles(server, server, folder / "ca.pem", names)


def _ca(folder: Path, now: datetime) -> "tuple[x509.Certificate, Any]":
    """The folder's CA certificate and key, made first when there is none or it expires within a server
    certificate's lifetime; ``ca.pem`` then holds that certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    kept = folder / "ca-key.pem"
    for _ in range(2):
        if not kept.exists():
            _write_private(kept, _new_ca_pem(now), replace=False)
        pem = kept.read_bytes()
        try:
            key = serialization.load_pem_private_key(pem, password=None)
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise TlsError(f"{kept} is not a key and certificate in PEM: remove it, and a new CA is made") from None
        if cert.not_valid_after_utc > now + timedelta(days=_SERVER_DAYS):
            break
        kept.unlink(missing_ok=True)  # expiring: a new CA, which clients have to be told to trust again
    public = cert.public_bytes(serialization.Encoding.PEM)
    shown = folder / "ca.pem"
    if not shown.exists() or shown.read_bytes() != public:
        _write_public(shown, public)
    return cert, key


def _new_ca_pem(now: datetime) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aoai-mock"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"aoai-mock local CA {secrets.token_hex(4)}"),  # one per folder
    ])
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _SKEW)
        .not_valid_after(now + timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _key_pem(key) + cert.public_bytes(serialization.Encoding.PEM)


def _server_pem(ca_cert: "x509.Certificate", ca_key: Any, names: tuple[str, ...], now: datetime) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _SKEW)
        .not_valid_after(now + timedelta(days=_SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM) + _key_pem(key)


def _usage(cert_sign: bool) -> "x509.KeyUsage":
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )


def _general_name(name: str) -> "x509.GeneralName":
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _key_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes, replace: bool) -> None:
    """``data`` in ``path``, readable by its owner only, appearing whole. ``replace=False``: only if ``path``
    does not exist yet (a concurrent writer's file stays, and is the one read)."""
    partial = _beside(path)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    try:
        if replace:
            os.replace(partial, path)
        else:
            try:
                os.link(partial, path)
            except FileExistsError:
                pass
    finally:
        partial.unlink(missing_ok=True)


def _write_public(path: Path, data: bytes) -> None:
    """``data`` in ``path``, readable by all (a certificate), written beside it and renamed over it."""
    partial = _beside(path)
    partial.write_bytes(data)
    partial.chmod(0o644)
    os.replace(partial, path)


def _beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
