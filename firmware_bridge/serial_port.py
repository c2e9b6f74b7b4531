"""One open serial port for the Bridge: frames out one at a time, whatever has arrived in.

pyserial does the work; this adds the two things the Bridge needs around it: writes serialised by a
lock (commands from several threads, acks from the reader thread), and an open error that says what
to check on a Pi.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import serial

from firmware_bridge.errors import BridgeConnectionError

log = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 1.0


class SerialPort:
    def __init__(self, line: serial.SerialBase, name: str) -> None:
        self._line = line
        self._name = name
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, url: str, *, baudrate: int, read_timeout: float) -> SerialPort:
        """Open a device path (or a pyserial URL such as ``socket://``). BridgeConnectionError if not."""
        try:
            line = serial.serial_for_url(url, baudrate=baudrate, timeout=read_timeout,
                                         write_timeout=WRITE_TIMEOUT_S, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise BridgeConnectionError(
                f"cannot open serial port {url!r}: {exc}. Check the path (ls -l /dev/serial*), that "
                f"the UART is enabled (enable_uart=1, serial console off) and that no other program holds it"
            ) from exc
        return cls(line, url)

    def read(self) -> bytes:
        """What has arrived: blocks until at least one byte or the read timeout (then b"").
        Raises serial.SerialException or OSError when the device is gone."""
        data = self._line.read(1)
        waiting = self._line.in_waiting if data else 0
        return data + self._line.read(waiting) if waiting else data

    def write(self, frame: bytes) -> bool:
        """Write one whole frame; False if the port is closed or the write failed (device gone)."""
        with self._lock:
            if self._closed:
                return False
            try:
                self._line.write(frame)
            except (serial.SerialException, OSError) as exc:  # the reader notices too, and reconnects
                log.debug("write to %s failed: %s", self._name, exc)
                return False
        return True

    def cancel_read(self) -> None:
        """Wake a thread blocked in read() (it returns b"")."""
        with contextlib.suppress(serial.SerialException, OSError, AttributeError):
            self._line.cancel_read()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            with contextlib.suppress(serial.SerialException, OSError):
                self._line.close()
