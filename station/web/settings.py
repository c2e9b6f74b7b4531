"""The ``[web]`` section of station.toml: the ranger's page. Plugged into ``StationConfig`` as ``web``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

#: What ``station.web.auth.hash_password`` produces: scrypt parameters, salt and key, base64.
PASSWORD_HASH_PATTERN = r"^(|scrypt\$n=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+)$"


class WebSection(BaseModel):
    """The ranger's page (walk test, aiming, status, deployment record). Off unless asked; needs a password."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled_after_start_s: float = Field(
        0.0, ge=0.0, le=86_400.0,
        description="Serve the page for this many seconds after the daemon starts (0: off until asked).")
    port: int = Field(8080, ge=0, le=65535, description="TCP port of the page (0: any free port, for tests).")
    bind: str = Field("0.0.0.0", min_length=1,
                      description="Address to listen on: 0.0.0.0 every interface (the station's Wi-Fi hotspot), "
                                  "127.0.0.1 this machine only.")
    password_hash: str = Field("", pattern=PASSWORD_HASH_PATTERN,
                               description="scrypt hash of the page's password, made by `trapd web passwd` or "
                                           "provisioning (empty: the page stays off).")
    session_timeout_s: float = Field(1800.0, ge=60.0, le=86_400.0,
                                     description="A login ends after this long without a request; while someone "
                                                 "uses the page it stays on at least this long.")
    tls_cert_file: Path | None = Field(
        None, description="Certificate of the page for HTTPS (PEM, relative to this file; `trapd provision` makes "
                          "tls/web-cert.pem). Unset: plain HTTP, and phones will not give GPS positions.")
    tls_key_file: Path | None = Field(None, description="Private key of tls_cert_file (PEM).")
