"""The parts that serve the running station depend on its narrow interface, never on the whole app."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_consumers_do_not_import_the_app():
    code = ("import sys, station.daemon.commands, station.daemon.telemetry, station.daemon.service, "
            "station.web.server, station.web.views, station.web.data; "
            "print('station.daemon.app' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
