"""The ``[hotspot]`` section of station.toml: the ranger's Wi-Fi. Plugged into ``StationConfig`` as ``hotspot``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class HotspotSection(BaseModel):
    """The station's Wi-Fi access point for the ranger's phone: on only while the ranger's page is on."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    adapter: Literal["none", "simulated", "nmcli"] = Field(
        "none", description="none (no hotspot: the page is reached over another network), simulated (tests, "
                            "demo) or nmcli (NetworkManager's access point, made by `trapd provision`).")
    connection: str = Field("trapd-hotspot", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                            description="NetworkManager connection the nmcli adapter switches on and off.")
    ssid: str = Field("", max_length=32,
                      description="The hotspot's network name as provisioned, for reference: change it with "
                                  "`trapd provision --hotspot-ssid` (the network itself and its password are in "
                                  "NetworkManager's keyfile).")
    switch_timeout_s: float = Field(45.0, ge=5.0, le=300.0,
                                    description="Longest wait for NetworkManager to bring the hotspot up or down.")
