"""The ranger's page's certificate, as provisioning makes it: its chain checked with openssl, its names, its key.

A station's own CA by default, or the park's CA (made here with openssl) so one trusted CA opens every station;
the mistakes a technician makes with certificate and key files are refused before anything is written.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from station.errors import ConfigError
from station.network.certs import CertificateError, check_pair, fingerprint, names_of
from station.provision.apply import provision

# Root-written secrets: 0600, or as root (a Pi) root's and readable by the daemon's group only (trapd.tmpfiles).
SECRET_MODE = 0o640 if os.geteuid() == 0 else 0o600


def test_the_page_certificate_chains_to_the_station_ca_for_its_names_only(station_etc, tmp_path):
    provision(station_etc, station_id="llnp-0412", system_root=tmp_path / "root")
    tls = station_etc.parent / "tls"
    assert names_of((tls / "web-cert.pem").read_bytes()) == ({"trapd-llnp-0412.local"}, {"10.42.0.1"})
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(tls / "web-ca.pem"), "-verify_hostname",
                             "trapd-llnp-0412.local", str(tls / "web-cert.pem")], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert stat.S_IMODE((tls / "web-key.pem").stat().st_mode) == SECRET_MODE
    assert not any("PRIVATE KEY" in path.read_text() for path in tls.iterdir() if path.name != "web-key.pem")
    other = provision(station_etc, station_id="llnp-0413", system_root=tmp_path / "root").ranger
    assert not other.certificate_kept  # a new name gets a new certificate
    assert names_of(other.certificate.cert_pem)[0] == {"trapd-llnp-0413.local"}


def test_a_certificate_and_a_key_that_do_not_belong_together_are_told_apart(station_etc, tmp_path):
    first = provision(station_etc, station_id="llnp-0412").ranger.certificate
    second = provision(tmp_path / "b.toml", station_id="llnp-0413").ranger.certificate
    check_pair(first.cert_pem, first.key_pem)
    with pytest.raises(CertificateError, match="does not belong"):
        check_pair(first.cert_pem, second.key_pem)
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", first.fingerprint)


def test_selftest_names_the_page_certificate_or_says_why_it_cannot_serve(station_etc, tmp_path):
    from station.config.edit import set_key
    from station.daemon.selftest import run_selftest

    provision(station_etc, station_id="llnp-0412", data_dir=tmp_path / "data", web_password="ranger-pass-1",
              camera="simulated", trigger="simulated", illuminator="simulated")
    page = next(check for check in run_selftest(station_etc) if check.name == "page")
    cert = (station_etc.parent / "tls" / "web-cert.pem").read_bytes()
    assert page.ok and page.detail == f"HTTPS on port 8443, certificate SHA-256 {fingerprint(cert)}"
    other = provision(tmp_path / "other.toml", station_id="llnp-0413").ranger.certificate
    (station_etc.parent / "tls" / "web-key.pem").write_bytes(other.key_pem)  # a careless copy
    page = next(check for check in run_selftest(station_etc) if check.name == "page")
    assert not page.ok and "the key does not belong to the certificate" in page.detail
    set_key(station_etc, "web.tls_cert_file", "tls/missing.pem")
    page = next(check for check in run_selftest(station_etc) if check.name == "page")
    assert not page.ok and "does not exist" in page.detail


# -- a park's own CA -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def park_ca(tmp_path_factory) -> tuple[Path, Path]:
    """A park CA made with openssl (RSA, valid 400 days), and a leaf certificate it signed."""
    from tests.pki import make_cert

    folder = tmp_path_factory.mktemp("park-pki")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "400", "-subj",
                    "/CN=LLNP park CA", "-keyout", "park-ca.key", "-out", "park-ca.crt"], cwd=folder, check=True,
                   capture_output=True)
    make_cert(folder, "park-ca", "not-a-ca")
    return folder / "park-ca.crt", folder / "park-ca.key"


def test_a_park_ca_signs_every_station_so_one_trusted_ca_opens_them_all(station_etc, tmp_path, park_ca):
    ca_file, ca_key = park_ca
    for station_id in ("llnp-0412", "llnp-0413"):
        etc = tmp_path / station_id / "station.toml"
        etc.parent.mkdir()
        ranger = provision(etc, station_id=station_id, web_ca_file=ca_file, web_ca_key_file=ca_key).ranger
        tls = etc.parent / "tls"
        assert (tls / "web-ca.pem").read_bytes() == ca_file.read_bytes()
        verify = subprocess.run(["openssl", "verify", "-CAfile", str(ca_file), "-verify_hostname",
                                 ranger.mdns_name, str(tls / "web-cert.pem")], capture_output=True, text=True)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert ca_key.read_bytes() not in b"".join(path.read_bytes() for path in tls.iterdir())
        again = provision(etc, station_id=station_id, web_ca_file=ca_file, web_ca_key_file=ca_key).ranger
        assert again.certificate_kept and again.certificate.fingerprint == ranger.certificate.fingerprint
    switched = provision(station_etc, station_id="llnp-0412").ranger  # its own CA first ...
    moved = provision(station_etc, station_id="llnp-0412", web_ca_file=ca_file, web_ca_key_file=ca_key).ranger
    assert not moved.certificate_kept and moved.certificate.fingerprint != switched.certificate.fingerprint


@pytest.mark.parametrize("mistake,message", [
    ("leaf as CA", "web_ca_file: the park's CA certificate is not a CA"),
    ("wrong key", "web_ca_file: the private key does not belong to the certificate"),
    ("no key", "web_ca_key_file: web_ca_file and web_ca_key_file go together"),
    ("missing", "web_ca_file: cannot read"),
])
def test_park_ca_mistakes_are_refused_before_anything_is_written(station_etc, park_ca, mistake, message):
    ca_file, ca_key = park_ca
    leaf = ca_file.with_name("not-a-ca.crt")
    settings = {"leaf as CA": {"web_ca_file": leaf, "web_ca_key_file": leaf.with_suffix(".key")},
                "wrong key": {"web_ca_file": ca_file, "web_ca_key_file": leaf.with_suffix(".key")},
                "no key": {"web_ca_file": ca_file},
                "missing": {"web_ca_file": ca_file.with_name("nope.crt"), "web_ca_key_file": ca_key}}[mistake]
    before = station_etc.read_bytes()
    with pytest.raises(ConfigError, match=re.escape(message)):
        provision(station_etc, station_id="llnp-0412", **settings)
    assert station_etc.read_bytes() == before and not (station_etc.parent / "tls").exists()


def test_a_park_ca_key_on_the_card_is_deleted_once_applied(station_etc, tmp_path, park_ca):
    from station.provision.apply import provision_from_file

    boot = tmp_path / "bootfs"
    boot.mkdir()
    shutil.copy(park_ca[0], boot / "park-ca.pem")
    shutil.copy(park_ca[1], boot / "park-ca.key")
    (boot / "trapd-provision.toml").write_text('station_id = "llnp-0412"\nweb_ca_file = "park-ca.pem"\n'
                                               'web_ca_key_file = "park-ca.key"\n')
    provision_from_file(boot / "trapd-provision.toml", station_etc, system_root=tmp_path / "root")
    assert not (boot / "park-ca.key").exists() and (boot / "park-ca.pem").exists()
    assert (station_etc.parent / "tls" / "web-ca.pem").read_bytes() == park_ca[0].read_bytes()
