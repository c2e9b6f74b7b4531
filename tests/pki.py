"""A throw-away PKI made with openssl: a park CA, the broker, stations, the central server, and a rogue CA."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> None:
    _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
         "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=folder)


def make_cert(folder: Path, ca: str, cn: str, *, server: bool = False) -> tuple[Path, Path]:
    _run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", f"{cn}.key",
         "-out", f"{cn}.csr", cwd=folder)
    ext = folder / f"{cn}.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n" if server else "basicConstraints=CA:FALSE\n")
    _run("x509", "-req", "-in", f"{cn}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
         "-days", "2", "-extfile", ext.name, "-out", f"{cn}.crt", cwd=folder)
    return folder / f"{cn}.crt", folder / f"{cn}.key"


def make_pki(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    make_ca(folder, "park-ca")
    make_cert(folder, "park-ca", "broker", server=True)
    for cn in ("station-a", "central"):
        make_cert(folder, "park-ca", cn)
    rogue = folder / "rogue"
    rogue.mkdir()
    make_ca(rogue, "rogue-ca")
    make_cert(rogue, "rogue-ca", "station-a")
    return folder
