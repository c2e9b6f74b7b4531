"""The ranger's page's certificate: a small CA of the station's own and the page's certificate, made once.

A phone gives GPS positions only to a secure (HTTPS) page, and in the forest there is no public CA to ask.
So provisioning makes, per station:

- a CA certificate (``web-ca.pem``) whose key is thrown away as soon as it has signed, and whose name
  constraints allow only this station's names: a phone that trusts it trusts nothing else;
- the page's certificate (``web-cert.pem``) for ``trapd-<id>.local`` and the hotspot's 10.42.0.1, and
  its key (``web-key.pem``).

A park that runs its own CA gives its certificate and key at provisioning instead: the page's certificate
is then signed by it (``web-ca.pem`` is the park's), and a phone that trusts the park's CA once opens every
station of the park. The park's key is used only in memory and never copied to the station.

The SHA-256 fingerprint of the page's certificate is printed (and shown beside the QR code) so a ranger
who does not install the CA can compare it with what the phone's browser shows before going on.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import typing

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Phones refuse server certificates valid for more than 398 days only when a public CA issued them;
#: this one is private, and a station stays in the forest for years.
VALID_DAYS = 3650


class CertificateError(ValueError):
    """A certificate or key that cannot serve the page; the message says which file and why."""


@dataclasses.dataclass(frozen=True)
class PageCertificate:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.cert_pem)


def make_page_certificate(station_id: str, hostname: str, addresses: tuple[str, ...], *,
                          park_ca: tuple[bytes, bytes] | None = None,
                          now: datetime.datetime | None = None) -> PageCertificate:
    """The page's certificate for ``hostname`` (e.g. trapd-llnp-0412.local) and ``addresses``, signed by a CA
    made for this station alone, or by the park's CA when ``park_ca`` (certificate PEM, key PEM) is given:
    then a ranger's phone that trusts the park's CA trusts every station of the park."""
    now = now or datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=VALID_DAYS)
    ips = [ipaddress.ip_address(address) for address in addresses]
    ca_key: CertificateIssuerPrivateKeyTypes
    if park_ca is None:
        ca, ca_key = _station_ca(station_id, hostname, ips, start, end)
    else:
        ca, ca_key = _load_park_ca(*park_ca)
        end = min(end, ca.not_valid_after_utc)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname), *map(x509.IPAddress, ips)]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, _digest_for(ca_key)))
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return PageCertificate(ca_pem=ca.public_bytes(pem), cert_pem=leaf.public_bytes(pem), key_pem=key_pem)


def _station_ca(station_id: str, hostname: str, ips: list, start: datetime.datetime,
                end: datetime.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA that may sign only this station's names; its key is never written anywhere."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"trapd station {station_id} CA"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "trapd")])
    constraints = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName(hostname), *(x509.IPAddress(ipaddress.ip_network(ip)) for ip in ips)],
        excluded_subtrees=None)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(constraints, critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    return ca, ca_key


def _load_park_ca(cert_pem: bytes, key_pem: bytes) -> tuple[x509.Certificate, CertificateIssuerPrivateKeyTypes]:
    check_pair(cert_pem, key_pem)
    ca = _load_cert(cert_pem)
    try:
        is_ca = ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise CertificateError("the park's CA certificate is not a CA (no basicConstraints CA:TRUE)")
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not _can_sign(key):
        raise CertificateError(f"the park's CA key ({type(key).__name__}) cannot sign certificates")
    return ca, key


def _can_sign(key: PrivateKeyTypes) -> typing.TypeGuard[CertificateIssuerPrivateKeyTypes]:
    """Whether the key is of a kind X.509 certificates can be signed with (not DH, X25519, X448, ...)."""
    return isinstance(key, typing.get_args(CertificateIssuerPrivateKeyTypes))


def _digest_for(key: CertificateIssuerPrivateKeyTypes) -> hashes.SHA256 | None:
    return None if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)) else hashes.SHA256()


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate, as browsers show it: ``AB:CD:…`` (32 pairs)."""
    digest = _load_cert(cert_pem).fingerprint(hashes.SHA256())
    return ":".join(f"{byte:02X}" for byte in digest)


def names_of(cert_pem: bytes) -> tuple[set[str], set[str]]:
    """(DNS names, IP addresses) the certificate is valid for."""
    try:
        san = _load_cert(cert_pem).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return set(san.get_values_for_type(x509.DNSName)), {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


def still_fits(existing: PageCertificate, hostname: str, addresses: tuple[str, ...], *,
               park_ca_pem: bytes | None = None, now: datetime.datetime | None = None) -> bool:
    """Whether an existing certificate can be kept: same names, its key, signed by its CA (the park's, when
    one is given now), more than 30 days left."""
    now = now or datetime.datetime.now(datetime.UTC)
    try:
        if park_ca_pem is not None and _load_cert(park_ca_pem) != _load_cert(existing.ca_pem):
            return False
        check_pair(existing.cert_pem, existing.key_pem)
        cert, ca = _load_cert(existing.cert_pem), _load_cert(existing.ca_pem)
        cert.verify_directly_issued_by(ca)
    except (CertificateError, ValueError, TypeError, InvalidSignature):
        return False
    dns, ips = names_of(existing.cert_pem)
    return (dns, ips) == ({hostname}, set(addresses)) and cert.not_valid_after_utc - now > datetime.timedelta(days=30)


def check_pair(cert_pem: bytes, key_pem: bytes) -> None:
    """Raise CertificateError unless ``key_pem`` is the private key of ``cert_pem``."""
    cert = _load_cert(cert_pem)
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"not a readable unencrypted PEM private key ({exc})") from exc
    pub = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*pub) != cert.public_key().public_bytes(*pub):
        raise CertificateError("the private key does not belong to the certificate")


def _load_cert(cert_pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise CertificateError(f"not a readable PEM certificate ({exc})") from exc
