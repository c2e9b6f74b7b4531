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


def test_the_apps_own_builders_and_reporters_do_not_import_it_either():
    code = ("import sys, station.daemon.host, station.daemon.parts, station.daemon.snapshot, "
            "station.daemon.board_reports; print('station.daemon.app' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_no_module_of_the_station_hides_an_import_of_the_app_behind_type_checking():
    hidden = [path.relative_to(ROOT).as_posix() for path in (ROOT / "station").rglob("*.py")
              if "TYPE_CHECKING" in (text := path.read_text(encoding="utf-8"))
              and "from station.daemon.app import" in text]
    assert hidden == []
