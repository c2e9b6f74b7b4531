"""``machine`` for MicroPython's Unix port: the reference firmware's pins, ADCs, PWM, UART and
watchdog on a PC, so the unchanged ``main.py`` runs under the real ``micropython`` binary.

Written for MicroPython (tests run it with the Unix port's ``micropython``); CPython never imports it.
It is wired through three inherited file descriptors named in the environment:

* ``TRAPD_UPY_UART_FD``: the UART. The master end of a pty whose other end the host's ``Bridge``
  opens; read() gives None when nothing is waiting, as a UART made with ``timeout=0`` does.
* ``TRAPD_UPY_WORLD_IN_FD``: lines from the outside world that drive inputs, like a sensor would:
  ``pin <id> <0|1>`` (an edge fires the pin's interrupt handler), ``adc <channel> <raw u16>``, and
  ``sync <n> 0``, answered ``synced <n>`` once every line before it has been applied.
* ``TRAPD_UPY_WORLD_OUT_FD``: lines this board reports: ``pin <id> <level>`` when an output changes,
  ``pwm <id> <duty_u16>``, ``ready`` once the UART is open, ``reset`` before ``reset()``.

Interrupts: on the chip, a pin edge schedules the handler as a soft IRQ that runs between bytecodes.
Here pending world lines are delivered whenever the firmware feeds the watchdog, which its main loop
does at least every ``WAIT_SLICE_MS``: the same order of latency, and handlers still only run between
the firmware's own steps.
"""

import os
import sys

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

# Type comments, not annotations: this file is MicroPython's, and names builtins only.
_pins = {}  # type: dict[int, Pin]
_adc_raw = {}  # type: dict[int, int]
_files = {}  # type: dict  # the open descriptors by role, and "pending": bytes read but not yet a line


def _fd(name):
    value = os.getenv(name)
    if value is None:
        raise OSError("this machine stand-in needs the file descriptor " + name + " in the environment")
    return int(value)


def _world_out():
    if "out" not in _files:
        _files["out"] = open(_fd("TRAPD_UPY_WORLD_OUT_FD"), "wb")
    return _files["out"]


def report(line):
    """Tell the outside world what an output did (one text line)."""
    _world_out().write(line.encode() + b"\n")  # unbuffered: flush() would fsync a pipe (EINVAL)


def _world_lines():
    if "in" not in _files:
        _files["in"] = open(_fd("TRAPD_UPY_WORLD_IN_FD"), "rb")
        _files["pending"] = b""
    data = _files["in"].read(256)
    if not data:
        return []
    buffered = _files["pending"] + data
    lines = buffered.split(b"\n")
    _files["pending"] = lines.pop()
    return lines


def service_world():
    """Apply what the world changed since the last call (runs pin interrupt handlers)."""
    for line in _world_lines():
        words = line.decode().split()
        if len(words) != 3:
            continue
        kind, ident, value = words[0], int(words[1]), int(words[2])
        if kind == "pin" and ident in _pins:
            _pins[ident].drive(value)
        elif kind == "adc":
            _adc_raw[ident] = max(0, min(value, 0xFFFF))
        elif kind == "sync":
            report("synced %d" % ident)


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, pin_id, mode=-1, pull=-1, value=None):
        self.id = pin_id
        self.mode = mode
        self._level = 1 if pull == Pin.PULL_UP else 0
        self._handler = None
        self._trigger = 0
        _pins[pin_id] = self
        if value is not None:
            self.value(value)

    def value(self, level=None):
        if level is None:
            return self._level
        self._level = 1 if level else 0
        if self.mode == Pin.OUT:
            report("pin %d %d" % (self.id, self._level))
        return None

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING):
        self._handler = handler
        self._trigger = trigger

    def drive(self, level):
        old = self._level
        self._level = 1 if level else 0
        if old == self._level:
            return
        edge = Pin.IRQ_RISING if self._level else Pin.IRQ_FALLING
        if edge & self._trigger and self._handler:
            self._handler(self)


class PWM:
    def __init__(self, pin):
        self._pin = pin
        self._freq = 0
        self._duty = 0

    def freq(self, hz=None):
        if hz is None:
            return self._freq
        self._freq = hz
        return None

    def duty_u16(self, duty=None):
        if duty is None:
            return self._duty
        if not 0 <= duty <= 0xFFFF:
            raise ValueError("duty_u16 must be 0..65535")
        self._duty = duty
        report("pwm %d %d" % (self._pin.id, duty))
        return None


class ADC:
    def __init__(self, channel):
        self._channel = channel

    def read_u16(self):
        return _adc_raw.get(self._channel, 0)


def UART(uart_id, baudrate=115200, tx=None, rx=None, rxbuf=256, timeout=0):  # noqa: N802
    """The pty's master end as a stream: read() -> None when empty, write(), and select.poll works."""
    if "uart" not in _files:
        _files["uart"] = open(_fd("TRAPD_UPY_UART_FD"), "r+b")
        report("ready")
    return _files["uart"]


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout

    def feed(self):
        service_world()


def unique_id():
    ident = os.getenv("TRAPD_UPY_BOARD_ID") or "UPYBOARD"
    return ident.encode()[:8]


def reset_cause():
    return int(os.getenv("TRAPD_UPY_RESET_CAUSE") or PWRON_RESET)


def reset():
    report("reset")
    sys.exit(3)
