"""LoRa time on air, from the Semtech SX1276/77/78/79 datasheet (section 4.1.1.7) and AN1200.13.

    T_sym      = 2^SF / BW
    T_preamble = (n_preamble + 4.25) * T_sym
    n_payload  = 8 + max(ceil((8*PL - 4*SF + 28 + 16*CRC - 20*IH) / (4*(SF - 2*DE))) * (CR + 4), 0)
    T_packet   = T_preamble + n_payload * T_sym

PL is the PHY payload in bytes; CRC = 1 (uplinks carry a payload CRC); IH = 0 (explicit header);
CR = 1 for coding rate 4/5; DE = 1 (low data rate optimisation) when T_sym exceeds 16 ms, which the
datasheet mandates, i.e. SF11 and SF12 at 125 kHz. LoRaWAN uses an 8-symbol preamble and CR 4/5.

A LoRaWAN uplink adds 13 bytes to the application payload: MHDR 1, DevAddr 4, FCtrl 1, FCnt 2, FPort 1,
MIC 4 (FOpts empty). A join-request is 23 bytes.
"""

from __future__ import annotations

import math

from station.lora.regions import DataRate

LORAWAN_OVERHEAD_BYTES = 13
JOIN_REQUEST_BYTES = 23
#: Symbol time above which low data rate optimisation is mandated (SX1276 datasheet).
LDRO_SYMBOL_THRESHOLD_S = 0.016


def symbol_time_s(spreading_factor: int, bandwidth_hz: int) -> float:
    return (1 << spreading_factor) / bandwidth_hz


def time_on_air_s(phy_payload_bytes: int, *, spreading_factor: int, bandwidth_hz: int,
                  coding_rate: int = 1, preamble_symbols: int = 8, explicit_header: bool = True,
                  crc: bool = True, low_data_rate_optimize: bool | None = None) -> float:
    """Seconds on air of one LoRa packet carrying ``phy_payload_bytes``.

    ``coding_rate`` is 1..4 for 4/5..4/8. ``low_data_rate_optimize`` None means "as the datasheet
    mandates" (on when the symbol time exceeds 16 ms).
    """
    if not 6 <= spreading_factor <= 12:
        raise ValueError(f"spreading factor {spreading_factor} outside 6-12")
    if not 1 <= coding_rate <= 4:
        raise ValueError(f"coding rate {coding_rate} outside 1-4 (4/5..4/8)")
    if phy_payload_bytes < 0:
        raise ValueError("payload length cannot be negative")
    t_sym = symbol_time_s(spreading_factor, bandwidth_hz)
    if low_data_rate_optimize is None:
        low_data_rate_optimize = t_sym > LDRO_SYMBOL_THRESHOLD_S
    de = 1 if low_data_rate_optimize else 0
    ih = 0 if explicit_header else 1
    numerator = 8 * phy_payload_bytes - 4 * spreading_factor + 28 + 16 * int(crc) - 20 * ih
    blocks = math.ceil(numerator / (4 * (spreading_factor - 2 * de)))
    payload_symbols = 8 + max(blocks * (coding_rate + 4), 0)
    return (preamble_symbols + 4.25 + payload_symbols) * t_sym


def uplink_time_on_air_s(app_payload_bytes: int, data_rate: DataRate) -> float:
    """Seconds on air of a LoRaWAN uplink carrying ``app_payload_bytes`` at ``data_rate``."""
    return time_on_air_s(app_payload_bytes + LORAWAN_OVERHEAD_BYTES,
                         spreading_factor=data_rate.spreading_factor, bandwidth_hz=data_rate.bandwidth_hz)


def join_time_on_air_s(data_rate: DataRate) -> float:
    """Seconds on air of one OTAA join-request at ``data_rate``."""
    return time_on_air_s(JOIN_REQUEST_BYTES, spreading_factor=data_rate.spreading_factor,
                         bandwidth_hz=data_rate.bandwidth_hz)
