"""A simulated companion board on a pty: the reference firmware itself, run under CPython.

The simulator builds the firmware's ``Board`` with ``firmware/main.py``'s own ``build_board()`` over
a ``machine`` shim, runs ``firmware/node.py``'s ``Node`` in one thread, and connects its UART to the
master side of a pty. The host opens ``Simulator.port`` (a stable symlink to the pty's slave, like
udev's /dev/serial/by-id links) with pyserial, exactly as it opens a real board.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import queue
import random
import select
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self, TypeVar

from firmware_bridge import wire
from firmware_bridge.errors import SimulatorError
from firmware_bridge.firmware import main as board_main
from firmware_bridge.firmware import node as firmware
from firmware_bridge.machine_shim import Clock, Machine
from firmware_bridge.protocol import (
    MESSAGE_TYPES,
    IrLamp,
    LoRaSend,
    Message,
    SetTime,
    SleepUntil,
    WatchdogKick,
)
from firmware_bridge.sim_parts import Environment, PtyLink, SimRadio

log = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound=Message)
_CALL_TIMEOUT_S = 10.0  # generous: a loaded 2-core CI machine can stall a thread for a while
_RESET_CAUSES = {wire.RESET_POWER_ON: Machine.PWRON_RESET, wire.RESET_WATCHDOG: Machine.WDT_RESET,
                 wire.RESET_HARD: Machine.HARD_RESET, wire.RESET_SOFT: Machine.SOFT_RESET}


@dataclasses.dataclass(frozen=True)
class SimState:
    """What the simulated board has done, as seen from outside it."""

    commands: tuple[Message, ...]  # every command the firmware carried out (ACKed), in order
    lamp_level: int
    pi_powered: bool
    host_ready: bool
    power_cycles: int
    unix_time: int
    frames_in: int
    frame_errors: int
    events_dropped: int

    def _of(self, cls: type[M]) -> list[M]:
        return [command for command in self.commands if isinstance(command, cls)]

    @property
    def ir_lamp_levels(self) -> list[int]:
        return [command.level for command in self._of(IrLamp)]

    @property
    def watchdog_kicks(self) -> int:
        return len(self._of(WatchdogKick))

    @property
    def time_sets(self) -> list[int]:
        return [command.unix for command in self._of(SetTime)]

    @property
    def sleep_requests(self) -> list[int]:
        return [command.unix for command in self._of(SleepUntil)]

    @property
    def lora_sends(self) -> list[LoRaSend]:
        return self._of(LoRaSend)


class SimulatedBoard:
    """The firmware running in its own thread on a pty, and what it did.

    :class:`~firmware_bridge.simulator.Simulator` adds the scripting of its world."""

    def __init__(
        self,
        *,
        board_id: bytes = b"SIMBOARD",
        telemetry_period_s: float = 60.0,
        boot_watchdog_s: int = firmware.BOOT_WATCHDOG_S,
        sleep_grace_s: float = 30.0,
        lora_airtime_s: float | None = 0.05,
        pir_interval_s: float | None = None,
        battery_mv: int = 12_600,
    ) -> None:
        if len(board_id) != 8:
            raise ValueError(f"board_id must be 8 bytes (the RP2040's unique id), got {board_id!r}")
        self._board_id = board_id
        self._telemetry_period_ms = int(telemetry_period_s * 1000)
        self._boot_watchdog_s = boot_watchdog_s
        self._sleep_grace_ms = int(sleep_grace_s * 1000)
        self._lora_airtime_ms = None if lora_airtime_s is None else int(lora_airtime_s * 1000)
        self._pir_interval_s = pir_interval_s
        self._environment = Environment(battery_mv=battery_mv)
        self._clock = Clock()
        self._link: PtyLink | None = None
        self._directory: Path | None = None
        self._actions: queue.SimpleQueue[tuple[Callable[[], Any], threading.Event, list[Any]]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._failure: BaseException | None = None
        self._commands: list[Message] = []
        self._changed = threading.Condition()
        self._state: SimState | None = None
        self._machine: Machine
        self._node: firmware.Node
        self._radio: SimRadio | None = None
        self._next_autofire = 0.0

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> str:
        """Open the pty, boot the firmware in a thread; returns the port path for the host."""
        if self._thread is not None or self._stopping.is_set():
            raise SimulatorError("this simulator was already started: make a new Simulator to run another board")
        self._directory = Path(tempfile.mkdtemp(prefix="trapd-bridge-sim-"))
        self._link = PtyLink(self._directory / "ttyBRIDGE0")
        self._link.plug()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._boot(wire.RESET_POWER_ON)
        self._publish()
        self._next_autofire = time.monotonic() + (self._pir_interval_s or 0)
        self._thread = threading.Thread(target=self._run, name="bridge-simulator", daemon=True)
        self._thread.start()
        log.info("simulated board on %s (pty %s)", self.port, self.tty_path)
        return self.port

    def stop(self) -> None:
        """Stop the board's thread and remove the pty. Safe to call more than once."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake()
        self._thread.join(timeout=_CALL_TIMEOUT_S)
        if self._link is not None:
            self._link.unplug()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._wake_r = self._wake_w = -1
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> str:
        """The stable path the host opens (a symlink to the current pty)."""
        if self._link is None:
            raise SimulatorError("simulator not started: call start() first")
        return str(self._link.path)

    @property
    def tty_path(self) -> str:
        return os.path.realpath(self.port)

    # -- what the board did ------------------------------------------------------------------------

    @property
    def state(self) -> SimState:
        with self._changed:
            if self._state is None:
                raise SimulatorError("simulator not started: call start() first")
            return self._state

    def wait_until(self, predicate: Callable[[SimState], bool], timeout: float = 10.0) -> SimState:
        """Block until ``predicate(state)`` holds; SimulatorError (a RuntimeError) on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (self._state is not None and predicate(self._state)):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._failure is not None:
                    raise SimulatorError(f"simulated board did not reach the expected state within {timeout} s; "
                                         f"last state: {self._state}")
                self._changed.wait(remaining)
            return self._state

    def pir_write_times_ns(self, since: int = 0) -> list[tuple[int, int]]:
        """(seq, perf_counter_ns taken just before the write) of each PIR frame written to the pty,
        re-sent ones included, from the ``since``-th on."""
        return self._require_link().pir_written_ns[since:]

    # -- inside the simulator's thread -------------------------------------------------------------

    def _call(self, action: Callable[[], T]) -> T:
        """Run ``action`` in the board's thread, after which the board takes one step."""
        thread = self._thread
        if thread is None or not thread.is_alive() or self._failure is not None:
            raise SimulatorError(f"simulated board is not running (failure: {self._failure!r}): start() it first")
        done, result = threading.Event(), list[Any]()
        self._actions.put((action, done, result))
        self._wake()
        if not done.wait(_CALL_TIMEOUT_S):
            raise SimulatorError(f"simulated board did not act within {_CALL_TIMEOUT_S} s")
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):  # already awake (pipe full), or stopping
            os.write(self._wake_w, b"!")

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                finished = self._run_actions()
                self._autofire()
                self._node.step()
                self._publish()
                for done in finished:
                    done.set()
                self._wait_for_work()
        except BaseException as exc:  # the thread must report, not vanish
            log.exception("simulated board crashed")
            self._failure = exc
            with self._changed:
                self._changed.notify_all()

    def _run_actions(self) -> list[threading.Event]:
        finished: list[threading.Event] = []
        while True:
            try:
                action, done, result = self._actions.get_nowait()
            except queue.Empty:
                return finished
            try:
                result.append(action())
            except Exception as exc:  # handed back to the caller of the scripting method
                result.append(exc)
            finished.append(done)

    def _wait_for_work(self) -> None:
        link = self._require_link()
        timeouts = [self._node.next_wakeup_ms() / 1000]
        delayed = link.flush_delayed()
        if delayed is not None:
            timeouts.append(delayed)
        if self._pir_interval_s:
            timeouts.append(self._next_autofire - time.monotonic())
        readable = [self._wake_r] + ([link.fileno()] if link.plugged else [])
        ready, _, _ = select.select(readable, [], [], max(0.0, min(timeouts)))
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 4096)

    def _autofire(self) -> None:
        """``pir_interval_s``: a demo's steady stream of visitors on sensor 0."""
        if self._pir_interval_s and time.monotonic() >= self._next_autofire:
            self._pulse(board_main.PIR_PINS[0])
            self._next_autofire = time.monotonic() + self._pir_interval_s

    def _boot(self, cause: int) -> None:
        """A fresh power-up or reset of the board: new pins, new firmware state."""
        self._machine = Machine(self._require_link(), unique_id=self._board_id,
                                reset_cause=_RESET_CAUSES.get(cause, 0))
        self._radio = None if self._lora_airtime_ms is None else SimRadio(self._clock, self._lora_airtime_ms)
        board = board_main.build_board(self._machine, self._clock, random.getrandbits(32), radio=self._radio)
        self._machine.pins[board_main.ENCLOSURE_PIN].drive(0)  # the lid is shut
        self._environment.apply(self._machine)
        self._node = firmware.Node(
            board,
            telemetry_period_ms=self._telemetry_period_ms,
            boot_watchdog_s=self._boot_watchdog_s,
            sleep_grace_ms=self._sleep_grace_ms,
            on_command=self._record,
        )
        self._node.boot()
        log.debug("simulated board booted (reset cause %d, boot id %08x)", cause, board.boot_id)

    def _pulse(self, pin_id: int) -> None:
        pin = self._machine.pins[pin_id]
        pin.drive(1)
        pin.drive(0)

    def _record(self, msg_type: int, fields: tuple) -> None:
        """Called by the firmware before it acknowledges a command: once the host has the ACK,
        ``state`` shows the command."""
        self._commands.append(MESSAGE_TYPES[msg_type].from_fields(fields))
        self._publish()

    def _publish(self) -> None:
        node, machine = self._node, self._machine
        state = SimState(
            commands=tuple(self._commands),
            lamp_level=(machine.pwms[board_main.IR_LAMP_PIN].duty_u16() or 0) // 257,
            pi_powered=bool(machine.pins[board_main.PI_POWER_PIN].value()),
            host_ready=node.host_ready,
            power_cycles=node.pi.power_cycles,
            unix_time=node.unix_time(),
            frames_in=node.frames_in,
            frame_errors=node.frame_errors,
            events_dropped=node.events_dropped,
        )
        if state != self._state:
            with self._changed:
                self._state = state
                self._changed.notify_all()

    def _require_link(self) -> PtyLink:
        if self._link is None:
            raise SimulatorError("simulator not started: call start() first")
        return self._link
