"""The DSP graph: processing nodes applied in order to the master bus.

Each node is told apart by ``type``. Levels are in dB (dBFS unless a name
says otherwise), times in the unit their name ends with. Bounds are what a
broadcast chain can sensibly use; a value outside them is a typo more often
than a wish.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from grimnir.config._base import AT_KEY_ERROR, ConfigModel, check_unique_ids
from grimnir.domain.layers import Layer

GRAPHIC_EQ_BANDS_HZ: tuple[int, ...] = (31, 62, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)
"""Centre frequencies of the ten ``bands_db`` gains, in order."""

Gain24 = Annotated[float, Field(ge=-24, le=24)]


class _NodeBase(ConfigModel):
    """What every node has: an optional id (for the API and metrics) and a bypass switch."""

    id: str | None = Field(
        default=None, description="Optional name, unique in the graph, to address the node."
    )
    enabled: bool = Field(default=True, description="false bypasses the node (audio passes).")


class LoudnessNormalize(_NodeBase):
    """Slow gain riding toward a loudness target (EBU R128 / ITU-R BS.1770)."""

    type: Literal["loudness_normalize"]
    target_lufs: float = Field(default=-16, ge=-40, le=-5, description="Target loudness in LUFS.")
    true_peak_limit: float = Field(
        default=-1, ge=-12, le=0, description="Ceiling for true peaks, in dBTP."
    )
    window_sec: float = Field(
        default=3, ge=0.4, le=60, description="Loudness measuring window in seconds."
    )
    max_gain_db: float = Field(default=12, ge=0, le=30, description="Most boost ever applied.")


class Agc(_NodeBase):
    """Automatic gain control: evens out levels between items and sources."""

    type: Literal["agc"]
    target_level_db: float = Field(default=-14, ge=-40, le=0, description="Level aimed at.")
    max_gain_db: float = Field(default=10, ge=0, le=30, description="Most boost applied.")
    min_gain_db: float = Field(default=-10, ge=-30, le=0, description="Most cut applied.")
    attack_ms: float = Field(default=500, gt=0, description="How fast gain goes down.")
    release_ms: float = Field(default=2000, gt=0, description="How fast gain comes back up.")
    gate_db: float = Field(
        default=-50,
        ge=-90,
        le=0,
        description="Below this input level gain holds, so silence is not pumped up.",
    )


class Compressor(_NodeBase):
    """Downward compressor (pedalboard) for density and consistency."""

    type: Literal["compressor"]
    threshold_db: float = Field(default=-20, ge=-60, le=0, description="Level where it acts.")
    ratio: float = Field(default=3, ge=1, le=100, description="Input:output ratio above threshold.")
    attack_ms: float = Field(default=5, gt=0, le=1000, description="Attack time.")
    release_ms: float = Field(default=50, gt=0, le=5000, description="Release time.")
    makeup_gain_db: float = Field(default=0, ge=0, le=24, description="Gain added after.")


class Limiter(_NodeBase):
    """Brick-wall limiter: nothing passes above the threshold."""

    type: Literal["limiter"]
    threshold_db: float = Field(default=-1, ge=-24, le=0, description="Ceiling in dBFS.")
    release_ms: float = Field(default=10, gt=0, le=5000, description="Release time.")


class Gate(_NodeBase):
    """Noise gate: attenuates what stays below the threshold."""

    type: Literal["gate"]
    threshold_db: float = Field(default=-60, ge=-90, le=0, description="Opening level.")
    ratio: float = Field(default=10, ge=1, description="Expansion ratio below threshold.")
    attack_ms: float = Field(default=1, gt=0, description="Opening time.")
    release_ms: float = Field(default=100, gt=0, description="Closing time.")


def _ten_bands(gains: list[float]) -> list[float]:
    if len(gains) != len(GRAPHIC_EQ_BANDS_HZ):
        raise ValueError(
            "needs exactly 10 gains in dB, for 31, 62, 125, 250, 500, 1k, 2k, 4k, 8k and "
            f"16k Hz (got {len(gains)})"
        )
    return gains


class ParametricBand(ConfigModel):
    """One band of a parametric equalizer."""

    kind: Literal["peak", "low_shelf", "high_shelf", "low_pass", "high_pass"] = Field(
        description="Filter shape."
    )
    freq_hz: float = Field(ge=20, le=20000, description="Centre or corner frequency in Hz.")
    gain_db: Gain24 = Field(default=0, description="Boost/cut (ignored by low/high pass).")
    q: float = Field(default=0.707, ge=0.1, le=10, description="Bandwidth (Q factor).")


class Equalizer(_NodeBase):
    """Equalizer: a 10-band graphic EQ (``bands_db``) or parametric ``bands``, not both."""

    type: Literal["equalizer"]
    bands_db: Annotated[list[Gain24], AfterValidator(_ten_bands)] | None = Field(
        default=None,
        description="Ten gains (−24…24 dB) for 31, 62, 125, 250, 500, 1k, 2k, 4k, 8k, 16k Hz.",
    )
    bands: list[ParametricBand] | None = Field(
        default=None, min_length=1, description="Parametric bands, applied in order."
    )

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if self.bands_db is not None and self.bands is not None:
            raise ValueError("give either bands_db (graphic EQ) or bands (parametric), not both")
        if self.bands_db is None and self.bands is None:
            raise ValueError(
                "needs bands_db (10 graphic-EQ gains) or bands (a list of parametric bands)"
            )
        return self


class SilenceDetector(_NodeBase):
    """Raises a silence event (and lets the engine fail over) after dead air."""

    type: Literal["silence_detector"]
    threshold_db: float = Field(default=-50, ge=-90, le=0, description="Below this is silence.")
    duration_sec: float = Field(default=10, gt=0, description="Silence this long is dead air.")


class LevelMeter(_NodeBase):
    """Meters peak/RMS/loudness at this point of the chain (telemetry only)."""

    type: Literal["level_meter"]


class Duck(_NodeBase):
    """Lowers music under a voice layer (live mic, emergency message)."""

    type: Literal["duck"]
    amount_db: float = Field(default=12, ge=0, le=40, description="How far music goes down.")
    attack_ms: float = Field(default=50, gt=0, description="Time to duck.")
    release_ms: float = Field(default=500, gt=0, description="Time to come back.")
    threshold_db: float = Field(
        default=-40, ge=-90, le=0, description="Voice-layer level that triggers ducking."
    )


class Mix(_NodeBase):
    """Mixes layers together instead of switching between them."""

    type: Literal["mix"]
    inputs: list[Layer] = Field(min_length=1, description="Layers to mix.")
    gains_db: list[Gain24] | None = Field(
        default=None, description="Gain per input, same order and length as inputs."
    )

    @field_validator("inputs")
    @classmethod
    def _no_repeats(cls, inputs: list[str]) -> list[str]:
        repeated = sorted({name for name in inputs if inputs.count(name) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return inputs

    @model_validator(mode="after")
    def _gain_per_input(self) -> Self:
        if self.gains_db is not None and len(self.gains_db) != len(self.inputs):
            raise PydanticCustomError(
                AT_KEY_ERROR,
                "gives {gains} gain(s) for {inputs} input(s); give one gain per input",
                {"gains": len(self.gains_db), "inputs": len(self.inputs), "at_key": "gains_db"},
            )
        return self


Node = Annotated[
    LoudnessNormalize
    | Agc
    | Compressor
    | Limiter
    | Gate
    | Equalizer
    | SilenceDetector
    | LevelMeter
    | Duck
    | Mix,
    Field(discriminator="type"),
]
"""Any DSP node; ``type`` says which."""


class DspGraph(ConfigModel):
    """The processing chain of the master bus, applied top to bottom."""

    nodes: list[Node] = Field(default_factory=list, description="Nodes in signal order.")

    @field_validator("nodes")
    @classmethod
    def _unique_ids(cls, nodes: list[Node]) -> list[Node]:
        check_unique_ids(nodes, "node")
        return nodes
