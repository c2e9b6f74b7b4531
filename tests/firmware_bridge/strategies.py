"""Hypothesis strategies: one per message type, each covering its whole field ranges."""

from __future__ import annotations

from hypothesis import strategies as st

from firmware_bridge import protocol as p
from firmware_bridge import wire
from firmware_bridge.fields import Capability, LoRaTxStatus, NackReason, ResetCause, TamperKind

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)


def _enum_or_raw(enum_type: type) -> st.SearchStrategy[int]:
    """Known members, plus values a newer peer might send (kept as plain ints)."""
    return st.one_of(st.sampled_from(list(enum_type)), u8.filter(lambda value: value not in set(enum_type)))


MESSAGES: dict[type[p.Message], st.SearchStrategy[p.Message]] = {
    p.Hello: st.builds(p.Hello, u8, u8, st.tuples(u8, u8, u8), st.binary(min_size=8, max_size=8),
                       u16.map(Capability), u32, st.booleans()),
    p.Ack: st.builds(p.Ack, u16),
    p.Nack: st.builds(p.Nack, u16, _enum_or_raw(NackReason)),
    p.Pir: st.builds(p.Pir, u8, u32),
    p.Telemetry: st.builds(
        p.Telemetry, u16, u16, st.integers(-0x8000, 0x7FFF), u32, u32, _enum_or_raw(ResetCause)
    ),
    p.Tamper: st.builds(p.Tamper, _enum_or_raw(TamperKind), u16),
    p.LoRaTxDone: st.builds(p.LoRaTxDone, u16, _enum_or_raw(LoRaTxStatus)),
    p.LoRaRx: st.builds(p.LoRaRx, u8, st.binary(max_size=wire.LORA_MAX_PAYLOAD), st.integers(-0x8000, 0x7FFF),
                        st.integers(-0x80, 0x7F)),
    p.IrLamp: st.builds(p.IrLamp, u8),
    p.WatchdogKick: st.just(p.WatchdogKick()),
    p.WatchdogConfig: st.builds(p.WatchdogConfig, u16),
    p.SetTime: st.builds(p.SetTime, u32),
    p.SleepUntil: st.builds(p.SleepUntil, u32),
    p.LoRaSend: st.builds(p.LoRaSend, st.integers(1, 223), st.binary(max_size=wire.LORA_MAX_PAYLOAD), st.booleans()),
}

any_message = st.one_of(*MESSAGES.values())
frames = st.tuples(any_message, u16)  # (message, seq)
