"""`trapd web passwd`: the hash it makes, and where it writes it."""

from __future__ import annotations

import tomllib

import pytest
from click.testing import CliRunner

from station.cli.web import web
from station.config.models import StationConfig
from station.provision.apply import provision_from_file
from station.provision.request import ProvisionRequest
from station.web.auth import verify_password


def test_passwd_prints_a_hash_of_the_password():
    result = CliRunner().invoke(web, ["passwd", "--print", "--password-stdin"], input="ussuri-taiga\n")
    assert result.exit_code == 0, result.output
    assert verify_password("ussuri-taiga", result.output.strip())


def test_passwd_refuses_a_short_password():
    result = CliRunner().invoke(web, ["passwd", "--print", "--password-stdin"], input="short\n")
    assert result.exit_code == 2 and "at least 8 characters" in result.output


def test_passwd_asks_twice_on_a_terminal():
    typed = "ussuri-taiga\nussuri-taigo\nussuri-taiga\nussuri-taiga\n"  # a typo in the repeat: asked again
    result = CliRunner().invoke(web, ["passwd", "--print"], input=typed)
    assert result.exit_code == 0 and "do not match" in result.output
    assert verify_password("ussuri-taiga", result.output.strip().splitlines()[-1])


@pytest.mark.skipif("web" not in StationConfig.model_fields,
                    reason="the [web] config section is not wired in yet (apply /tmp/trapd-web/config.patch)")
def test_passwd_writes_the_hash_into_the_config(tmp_path):
    config = tmp_path / "station.toml"
    config.write_text('[station]\nid = "llnp-0412"\n[hardware]\ncamera = "simulated"\ntrigger = "simulated"\n',
                      encoding="utf-8")
    result = CliRunner().invoke(web, ["passwd", "-c", str(config), "--password-stdin"], input="ussuri-taiga\n")
    assert result.exit_code == 0, result.output
    written = tomllib.loads(config.read_text(encoding="utf-8"))
    assert written["station"]["id"] == "llnp-0412"
    assert verify_password("ussuri-taiga", written["web"]["password_hash"])


@pytest.mark.skipif("web_password" not in ProvisionRequest.model_fields,
                    reason="provisioning does not take web_password yet (apply /tmp/trapd-web/provision.patch)")
def test_provisioning_sets_the_page_password_and_keeps_only_its_hash(tmp_path):
    boot = tmp_path / "trapd-provision.toml"
    boot.write_text('station_id = "tlnp-0007"\nweb_password = "hunchun-river"\n', encoding="utf-8")
    result = provision_from_file(boot, tmp_path / "station.toml")
    assert verify_password("hunchun-river", result.config.web.password_hash)
    assert "hunchun-river" not in (tmp_path / "station.toml").read_text(encoding="utf-8")
    assert "hunchun-river" not in (tmp_path / "trapd-provision.toml.applied").read_text(encoding="utf-8")
