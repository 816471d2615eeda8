"""Equalizer node: a 10-band graphic EQ or parametric bands, as pedalboard biquads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pedalboard

from grimnir.config import GRAPHIC_EQ_BANDS_HZ, ParametricBand
from grimnir.engine.dsp._base import PluginNode

GRAPHIC_Q: Final = 1.41
"""Bandwidth of a graphic-EQ band: one octave, so neighbouring bands meet about 3 dB down."""


def _band_plugin(band: ParametricBand) -> pedalboard.Plugin:
    match band.kind:
        case "peak":
            return pedalboard.PeakFilter(band.freq_hz, band.gain_db, band.q)
        case "low_shelf":
            return pedalboard.LowShelfFilter(band.freq_hz, band.gain_db, band.q)
        case "high_shelf":
            return pedalboard.HighShelfFilter(band.freq_hz, band.gain_db, band.q)
        case "low_pass":
            return pedalboard.LowpassFilter(band.freq_hz)
        case "high_pass":
            return pedalboard.HighpassFilter(band.freq_hz)
    raise ValueError(f"unknown band kind {band.kind!r}")  # pragma: no cover - schema checks


class EqualizerNode(PluginNode):
    """Equalizer from ``bands_db`` (ten gains at 31 Hz … 16 kHz) or parametric ``bands``.

    Graphic bands are peak filters (Q 1.41) at ``GRAPHIC_EQ_BANDS_HZ``; a band
    at 0 dB is left out, since it would cost time and change nothing.
    Parametric bands map to pedalboard's peak and shelf biquads and its
    first-order (6 dB/octave) low/high-pass filters, which take no Q.
    """

    def __init__(
        self,
        bands_db: Sequence[float] | None = None,
        bands: Sequence[ParametricBand] | None = None,
        *,
        name: str = "equalizer",
    ) -> None:
        if (bands_db is None) == (bands is None):
            raise ValueError("give either bands_db (graphic EQ) or bands (parametric), not both")
        plugins: list[pedalboard.Plugin] = []
        if bands_db is not None:
            if len(bands_db) != len(GRAPHIC_EQ_BANDS_HZ):
                raise ValueError(f"bands_db needs {len(GRAPHIC_EQ_BANDS_HZ)} gains")
            plugins = [
                pedalboard.PeakFilter(float(freq), float(gain), GRAPHIC_Q)
                for freq, gain in zip(GRAPHIC_EQ_BANDS_HZ, bands_db, strict=True)
                if gain != 0.0
            ]
        elif bands is not None:
            plugins = [_band_plugin(band) for band in bands]
        if not plugins:
            super().__init__(name, None)
        elif len(plugins) == 1:
            super().__init__(name, plugins[0])
        else:
            super().__init__(name, pedalboard.Chain(plugins))
