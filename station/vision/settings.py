"""``[detection]`` in station.toml: what a detector's box must pass to count, and how crops are cut."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class DetectionSection(BaseModel):
    """Box thresholds, masks and crops (used only when [model] detector is set)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    threshold: float | None = Field(None, ge=0.0, le=1.0,
                                    description="Box score threshold for every class (unset: the card's).")
    thresholds: dict[str, float] = Field(default_factory=dict,
                                         description="Per class, by the species key the detector's class maps to "
                                                     "(e.g. human = 0.2, unknown_animal = 0.3).")
    min_box_area: float = Field(0.0005, ge=0.0, le=1.0,
                                description="Boxes smaller than this fraction of the frame are ignored.")
    masks: list[tuple[float, float, float, float]] = Field(
        default_factory=list,
        description="Regions [x, y, width, height] (0..1, top-left origin) where boxes are ignored: a box whose "
                    "centre lies inside one is dropped (e.g. the camera's info banner: [0, 0.93, 1, 0.07]).")
    crop_margin: float = Field(0.15, ge=0.0, le=1.0,
                               description="Crops for the classifier grow each box by this fraction of its size "
                                           "on every side.")

    @field_validator("thresholds")
    @classmethod
    def _in_range(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [key for key, score in value.items() if not 0.0 <= score <= 1.0]
        if bad:
            raise ValueError(f"thresholds must be between 0 and 1 ({', '.join(bad)})")
        return value

    @field_validator("masks")
    @classmethod
    def _inside_frame(cls, value: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
        for x, y, width, height in value:
            if not (0 <= x <= 1 and 0 <= y <= 1 and 0 < width <= 1 and 0 < height <= 1):
                raise ValueError("each mask is [x, y, width, height] with values in 0..1 (width, height > 0)")
        return value
