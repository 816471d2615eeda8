"""The master-bus DSP chain: loudness, AGC, dynamics, EQ, limiter and meters.

``build_chain(graph)`` turns a station's ``dsp_graph`` into a ``DspChain`` of
``DspNode``s that process 960-frame blocks in order. Every node is built once
and keeps its state between blocks; per block it does a handful of vector
operations (numpy, pedalboard, libebur128), never a per-sample Python loop.
"""

from grimnir.engine.dsp._base import DspNode, GainRamp, PluginNode
from grimnir.engine.dsp._chain import DspChain, LayerConfig, build_chain
from grimnir.engine.dsp._dynamics import CompressorNode, GateNode, LimiterNode, interpolated_peaks
from grimnir.engine.dsp._eq import GRAPHIC_Q, EqualizerNode
from grimnir.engine.dsp._loudness import AgcNode, KWeightedLevel, LoudnessNormalizerNode
from grimnir.engine.dsp._meters import LevelMeterNode, LevelReading, SilenceDetectorNode
from grimnir.engine.dsp._output_loudness import (
    LoudnessTrimNode,
    OutputLoudnessLoop,
    OutputProbeNode,
)

__all__ = [
    "GRAPHIC_Q",
    "AgcNode",
    "CompressorNode",
    "DspChain",
    "DspNode",
    "EqualizerNode",
    "GainRamp",
    "GateNode",
    "KWeightedLevel",
    "LayerConfig",
    "LevelMeterNode",
    "LevelReading",
    "LimiterNode",
    "LoudnessNormalizerNode",
    "LoudnessTrimNode",
    "OutputLoudnessLoop",
    "OutputProbeNode",
    "PluginNode",
    "SilenceDetectorNode",
    "build_chain",
    "interpolated_peaks",
]
