"""The companion microcontroller's logic: protocol, commands, events, clock. No pin numbers; the
rules for the Pi's power (watchdog, sleep) are in power.py.

Runs on MicroPython (RP2040) where main.py builds its ``Board`` from ``machine``, and under CPython
where the simulator builds the same ``Board`` from a shim: the tests drive this very file.
MicroPython subset only: no dataclasses, typing or enums; annotations name builtins only.

Time: ``ticks_ms()`` wraps (every 12.4 days on MicroPython), so the node folds tick differences into
an unbounded ``uptime_ms`` on every step and keeps all its deadlines in uptime.
"""

try:
    from firmware_bridge import wire  # CPython: the package the host imports
    from firmware_bridge.firmware import power
except ImportError:
    import power  # type: ignore[no-redef]  # the board: the files sit side by side
    import wire  # type: ignore[no-redef]

FIRMWARE_VERSION = (1, 0, 0)

EVENT_RETRY_MS = 250  # re-send an unacknowledged PIR/tamper/tx-done this often...
EVENT_ATTEMPTS = 5  # ...this many times, then consider the host gone and ask for a handshake
OUTBOX_LIMIT = 16  # events kept for a host that is away; the oldest is dropped beyond this
RECENT_COMMANDS = 16  # answers remembered, so a retried command is answered, not run twice
HELLO_RETRY_MS = 2000  # while no host: ask for a handshake this often
TELEMETRY_PERIOD_MS = 60000
BOOT_WATCHDOG_S = 600  # a freshly powered Pi must handshake and kick within this
SLEEP_GRACE_MS = 30000  # after sleep_until: time for the Pi to halt before its power is cut
MOTION_REPORT_MS = 1000  # motion pulses are summed into one tamper event per this period
MAX_WAIT_MS = 1000

_IRQ_PIR = 0
_IRQ_ENCLOSURE = 1
_IRQ_MOTION = 2


class Board:
    """The hardware the node drives.

    ``clock`` has MicroPython's ticks_ms() and ticks_diff(); ``sensors`` has battery_mv(), solar_mv(),
    temperature_cc() and lux(); ``radio`` (or None) has send(port, data, confirmed) -> bool (False
    while busy), poll() -> a TX_* status once the uplink is done, else None, and receive() ->
    (port, rssi dBm, snr quarter-dB, data) for a downlink, else None.
    """

    def __init__(self, uart, clock, sensors, *, pirs=(), lamp=None, pi_power=None, enclosure=None,
                 motion=None, radio=None, board_id=b"\x00" * 8, reset_cause=0, boot_id=0):
        self.uart = uart
        self.clock = clock
        self.sensors = sensors
        self.pirs = tuple(pirs)
        self.lamp = lamp
        self.pi_power = pi_power
        self.enclosure = enclosure
        self.motion = motion
        self.radio = radio
        self.board_id = bytes(board_id)
        self.reset_cause = reset_cause
        self.boot_id = boot_id

    def capabilities(self) -> int:
        caps = wire.CAP_TELEMETRY | wire.CAP_RTC
        for present, bits in (
            (self.pirs, wire.CAP_PIR),
            (self.lamp, wire.CAP_IR_LAMP),
            (self.pi_power, wire.CAP_WATCHDOG | wire.CAP_SLEEP),
            (self.radio, wire.CAP_LORA),
            (self.enclosure or self.motion, wire.CAP_TAMPER),
        ):
            if present:
                caps |= bits
        return caps


class Node:
    """One boot of the firmware. ``on_command(msg_type, fields)`` (optional) is told about every
    command carried out: the simulator records them, the board leaves it None."""

    def __init__(self, board, telemetry_period_ms=TELEMETRY_PERIOD_MS, boot_watchdog_s=BOOT_WATCHDOG_S,
                 sleep_grace_ms=SLEEP_GRACE_MS, on_command=None):
        self.board = board
        self.telemetry_period_ms = telemetry_period_ms
        self.pi = power.PiSupply(board.pi_power, boot_watchdog_s * 1000, sleep_grace_ms)
        self.on_command = on_command
        self.uptime_ms = 0
        self._ticks = board.clock.ticks_ms()
        self._deframer = wire.Deframer()
        self._irq = []  # filled by pin interrupt handlers, drained by step()
        self._tx_seq = 0
        self._outbox = []  # [seq, frame, attempts, due_ms] of events awaiting the host's ack
        self._recent = []  # (seq, nack reason or 0) of commands already answered
        self.host_ready = False
        self._next_hello_ms = 0
        self._next_telemetry_ms = 0
        self._motion_pulses = 0
        self._next_motion_ms = 0
        self._rtc = None  # (unix s, uptime ms) when the clock was set
        self._lora_seq = None
        self.frames_in = 0
        self.frame_errors = 0
        self.events_dropped = 0
        self._handlers = {
            wire.IR_LAMP: self._cmd_ir_lamp,
            wire.WATCHDOG_KICK: self._cmd_watchdog_kick,
            wire.WATCHDOG_CONFIG: self._cmd_watchdog_config,
            wire.SET_TIME: self._cmd_set_time,
            wire.SLEEP_UNTIL: self._cmd_sleep_until,
            wire.LORA_SEND: self._cmd_lora_send,
        }

    # -- life cycle ------------------------------------------------------------------------------

    def boot(self):
        """Claim the pins, power the Pi and ask the host for a handshake."""
        board = self.board
        for index, pin in enumerate(board.pirs):
            pin.irq(handler=self._pir_handler(index), trigger=pin.IRQ_RISING)
        if board.enclosure:
            edges = board.enclosure.IRQ_RISING | board.enclosure.IRQ_FALLING
            board.enclosure.irq(handler=self._enclosure_handler, trigger=edges)
        if board.motion:
            board.motion.irq(handler=self._motion_handler, trigger=board.motion.IRQ_RISING)
        self._set_lamp(0)
        self.pi.switch_on(self.uptime_ms)
        self._next_hello_ms = self.uptime_ms

    def step(self):
        """One pass of the main loop: never blocks, never raises on bad input."""
        self._advance()
        data = self.board.uart.read()
        if data:
            for status, value in self._deframer.feed(data):
                if status == wire.FRAME_OK:
                    self.frames_in += 1
                    self._on_frame(value[0], value[1], value[2])
                else:
                    self.frame_errors += 1
        self._take_interrupts()
        self._poll_radio()
        self._run_timers()

    def next_wakeup_ms(self) -> int:
        """How long the main loop may wait for UART data before the next timer is due."""
        deadlines = [self.uptime_ms + MAX_WAIT_MS] + self.pi.deadlines()
        if self.pi.awake() and self.host_ready:
            deadlines.append(self._next_telemetry_ms)
            deadlines += [entry[3] for entry in self._outbox]
        elif self.pi.awake():
            deadlines.append(self._next_hello_ms)
        if self._motion_pulses:
            deadlines.append(self._next_motion_ms)
        if self._lora_seq is not None:
            deadlines.append(self.uptime_ms + 10)  # radios report completion by polling
        wait = min(deadlines) - self.uptime_ms
        return max(0, wait)

    def run(self, wait):
        """Run forever; ``wait(ms)`` blocks until UART data arrives or ``ms`` pass."""
        self.boot()
        while True:
            self.step()
            wait(self.next_wakeup_ms())

    # -- time --------------------------------------------------------------------------------------

    def _advance(self):
        clock = self.board.clock
        now = clock.ticks_ms()
        self.uptime_ms += clock.ticks_diff(now, self._ticks)
        self._ticks = now

    def unix_time(self) -> int:
        """Seconds since 1970 by the board's clock, 0 while it has not been set."""
        if self._rtc is None:
            return 0
        return self._rtc[0] + (self.uptime_ms - self._rtc[1]) // 1000

    # -- sending -----------------------------------------------------------------------------------

    def _send(self, msg_type, fields) -> int:
        seq = self._tx_seq
        self._tx_seq = (seq + 1) % wire.SEQ_MODULO
        self._write(wire.encode_frame(msg_type, seq, wire.pack_payload(msg_type, fields)))
        return seq

    def _write(self, frame):
        if self.pi.awake():  # nobody listens to a Pi that is off
            self.board.uart.write(frame)

    def _send_hello(self, reply):
        major_minor_fw = (wire.PROTOCOL_MAJOR, wire.PROTOCOL_MINOR) + FIRMWARE_VERSION
        flags = wire.HELLO_REPLY if reply else 0
        board = self.board
        self._send(wire.HELLO, major_minor_fw + (flags, board.capabilities(), board.boot_id, board.board_id))

    def send_telemetry(self):
        sensors = self.board.sensors
        fields = (sensors.battery_mv(), sensors.solar_mv(), sensors.temperature_cc(), sensors.lux(),
                  self.unix_time(), self.board.reset_cause)
        self._send(wire.TELEMETRY, fields)
        self._next_telemetry_ms = self.uptime_ms + self.telemetry_period_ms

    def _emit_event(self, msg_type, fields):
        """Queue an event the host must acknowledge, and send it now if the host is there."""
        seq = self._tx_seq
        self._tx_seq = (seq + 1) % wire.SEQ_MODULO
        frame = wire.encode_frame(msg_type, seq, wire.pack_payload(msg_type, fields))
        if len(self._outbox) >= OUTBOX_LIMIT:
            self._outbox.pop(0)
            self.events_dropped += 1
        entry = [seq, frame, 0, self.uptime_ms]
        self._outbox.append(entry)
        if self.host_ready:
            self._transmit(entry)

    def _transmit(self, entry):
        self._write(entry[1])
        entry[2] += 1
        entry[3] = self.uptime_ms + EVENT_RETRY_MS

    # -- receiving ---------------------------------------------------------------------------------

    def _on_frame(self, msg_type, seq, payload):
        if msg_type == wire.HELLO:
            self._on_host_hello(payload)
        elif msg_type in (wire.ACK, wire.NACK):
            if len(payload) >= 2:
                acked = payload[0] | (payload[1] << 8)
                self._outbox = [entry for entry in self._outbox if entry[0] != acked]
        elif wire.is_command(msg_type) or not wire.is_known(msg_type):
            self._on_command(msg_type, seq, payload)

    def _on_host_hello(self, payload):
        try:
            fields = wire.unpack_payload(wire.HELLO, payload)
        except ValueError:
            return
        if fields[5] & wire.HELLO_REPLY:
            return  # hosts do not reply to hellos; nothing to do
        self._recent = []  # a new host session numbers its commands afresh
        self._send_hello(True)
        if fields[0] != wire.PROTOCOL_MAJOR:
            return  # the host will refuse us; keep the events for a host that can take them
        self.host_ready = True
        self.send_telemetry()
        for entry in self._outbox:
            entry[2] = 0
            self._transmit(entry)

    def _on_command(self, msg_type, seq, payload):
        for recent_seq, reason in self._recent:
            if recent_seq == seq:  # a retry whose answer got lost: answer again, do not run twice
                self._answer(seq, reason)
                return
        fields = None
        handler = self._handlers.get(msg_type)
        if handler is None:
            reason = wire.NACK_UNKNOWN_TYPE
        else:
            try:
                fields = wire.unpack_payload(msg_type, payload)
            except ValueError:
                reason = wire.NACK_BAD_PAYLOAD
            else:
                reason = handler(seq, fields)
        self._recent.append((seq, reason))
        if len(self._recent) > RECENT_COMMANDS:
            self._recent.pop(0)
        if reason == 0 and self.on_command:
            self.on_command(msg_type, fields)
        self._answer(seq, reason)

    def _answer(self, seq, reason):
        if reason:
            self._send(wire.NACK, (seq, reason))
        else:
            self._send(wire.ACK, (seq,))

    # -- commands: each returns 0 (ACK) or a NACK reason -------------------------------------------

    def _cmd_ir_lamp(self, seq, fields):
        if not self.board.lamp:
            return wire.NACK_UNSUPPORTED
        self._set_lamp(fields[0])
        return 0

    def _cmd_watchdog_kick(self, seq, fields):
        self.pi.kick(self.uptime_ms)
        return 0

    def _cmd_watchdog_config(self, seq, fields):
        return self.pi.configure_watchdog(fields[0], self.uptime_ms)

    def _cmd_set_time(self, seq, fields):
        if fields[0] == 0:
            return wire.NACK_OUT_OF_RANGE
        self._rtc = (fields[0], self.uptime_ms)
        return 0

    def _cmd_sleep_until(self, seq, fields):
        return self.pi.request_sleep(fields[0], self.unix_time(), self.uptime_ms)

    def _cmd_lora_send(self, seq, fields):
        radio = self.board.radio
        if not radio:
            return wire.NACK_UNSUPPORTED
        if self._lora_seq is not None or not radio.send(fields[0], fields[2], bool(fields[1])):
            return wire.NACK_BUSY
        self._lora_seq = seq
        return 0

    # -- hardware ----------------------------------------------------------------------------------

    def _pir_handler(self, index):
        def handler(pin):  # soft IRQ: only note it; step() turns it into a frame
            self._irq.append((_IRQ_PIR, index, self.board.clock.ticks_ms()))

        return handler

    def _enclosure_handler(self, pin):
        self._irq.append((_IRQ_ENCLOSURE, pin.value(), self.board.clock.ticks_ms()))

    def _motion_handler(self, pin):
        self._irq.append((_IRQ_MOTION, 1, self.board.clock.ticks_ms()))

    def _take_interrupts(self):
        while self._irq:
            kind, value, ticks = self._irq.pop(0)
            if kind == _IRQ_PIR:
                at_ms = self.uptime_ms - self.board.clock.ticks_diff(self._ticks, ticks)
                self._emit_event(wire.PIR, (value, at_ms & 0xFFFFFFFF))
                self._on_power(self.pi.motion(self.uptime_ms))
            elif kind == _IRQ_ENCLOSURE:
                self._emit_event(wire.TAMPER, (wire.TAMPER_ENCLOSURE_OPEN, value))
            else:
                if not self._motion_pulses:
                    self._next_motion_ms = max(self._next_motion_ms, self.uptime_ms)
                self._motion_pulses += 1

    def _poll_radio(self):
        radio = self.board.radio
        if not radio:
            return
        if self._lora_seq is not None:
            status = radio.poll()
            if status is not None:
                self._emit_event(wire.LORA_TX_DONE, (self._lora_seq, status))
                self._lora_seq = None
        downlink = radio.receive()  # (port, rssi dBm, snr quarter-dB, data) or None
        if downlink:
            self._emit_event(wire.LORA_RX, downlink)

    def _set_lamp(self, level):
        if self.board.lamp:
            self.board.lamp.duty_u16(level * 257)

    def _on_power(self, change):
        if change == power.SWITCHED_OFF:
            self._set_lamp(0)
            self.host_ready = False
        elif change == power.SWITCHED_ON:
            self._next_hello_ms = self.uptime_ms  # it boots; ask until its host answers

    def _run_timers(self):
        now = self.uptime_ms
        if self._motion_pulses and now >= self._next_motion_ms:
            self._emit_event(wire.TAMPER, (wire.TAMPER_MOVED, min(self._motion_pulses, 0xFFFF)))
            self._motion_pulses = 0
            self._next_motion_ms = now + MOTION_REPORT_MS
        self._on_power(self.pi.tick(now, self.unix_time()))
        if not self.pi.awake():
            return
        if self.host_ready:
            if now >= self._next_telemetry_ms:
                self.send_telemetry()
            self._retry_events(now)
        if not self.host_ready and now >= self._next_hello_ms:
            self._send_hello(False)
            self._next_hello_ms = now + HELLO_RETRY_MS

    def _retry_events(self, now):
        for entry in self._outbox:
            if entry[3] <= now:
                if entry[2] >= EVENT_ATTEMPTS:
                    self.host_ready = False  # the host stopped answering: ask it for a handshake
                    self._next_hello_ms = now
                    return
                self._transmit(entry)
