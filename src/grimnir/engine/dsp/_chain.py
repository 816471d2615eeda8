"""Building the master-bus chain from a station's ``dsp_graph``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from grimnir.config import (
    Agc,
    Compressor,
    DspGraph,
    Duck,
    Equalizer,
    Gate,
    LevelMeter,
    Limiter,
    LoudnessNormalize,
    Mix,
    Node,
    SilenceDetector,
)
from grimnir.domain.errors import EngineError
from grimnir.engine.audio import Block
from grimnir.engine.dsp._base import DspNode
from grimnir.engine.dsp._dynamics import CompressorNode, GateNode, LimiterNode
from grimnir.engine.dsp._eq import EqualizerNode
from grimnir.engine.dsp._loudness import AgcNode, LoudnessNormalizerNode
from grimnir.engine.dsp._meters import LevelMeterNode, SilenceDetectorNode
from grimnir.engine.dsp._output_loudness import (
    LoudnessTrimNode,
    OutputLoudnessLoop,
    OutputProbeNode,
)


class LayerConfig(NamedTuple):
    """The graph's nodes that act on the mixer's layers, not on the master bus.

    The mixer applies them (mixing layers together, ducking music under a
    voice layer); the chain only carries them there. None: not configured.
    """

    mix: Mix | None = None
    duck: Duck | None = None


class DspChain:
    """The master-bus nodes in signal order, run one block at a time.

    ``latency_frames`` is the constant delay of the whole chain (look-ahead
    limiters). ``meter`` and ``silence_detector`` are the chain's last level
    meter and silence detector (None when the graph has none), for telemetry
    and dead-air handling.
    """

    def __init__(self, nodes: Sequence[DspNode], layer_config: LayerConfig | None = None) -> None:
        self.nodes: tuple[DspNode, ...] = tuple(nodes)
        self.layer_config = layer_config or LayerConfig()
        self.latency_frames = sum(node.latency_frames for node in self.nodes)
        meters = [node for node in self.nodes if isinstance(node, LevelMeterNode)]
        detectors = [node for node in self.nodes if isinstance(node, SilenceDetectorNode)]
        self.meter: LevelMeterNode | None = meters[-1] if meters else None
        self.silence_detector: SilenceDetectorNode | None = detectors[-1] if detectors else None
        probes = [node for node in self.nodes if isinstance(node, OutputProbeNode)]
        self.output_loop: OutputLoudnessLoop | None = probes[-1].loop if probes else None
        """The loop holding the output at its target (it measures the output too)."""
        normalizers = [node for node in self.nodes if isinstance(node, LoudnessNormalizerNode)]
        self.target_lufs: float | None = normalizers[-1].target_lufs if normalizers else None
        """The loudness the chain holds its output at (its last normaliser's target)."""

    def process(self, block: Block) -> Block:
        """Run ``block`` through every node; may modify and return the same buffer."""
        for node in self.nodes:
            block = node.process(block)
        return block

    def reset(self) -> None:
        """Forget the state of every node."""
        for node in self.nodes:
            node.reset()

    def __repr__(self) -> str:
        return f"<DspChain {[node.name for node in self.nodes]}>"


def _peak_limit_covered(config: LoudnessNormalize, later: Sequence[Node]) -> bool:
    """Whether a limiter later in the chain already holds true peaks at or under the limit."""
    return any(
        isinstance(node, Limiter) and node.threshold_db <= config.true_peak_limit for node in later
    )


def _trim_position(later: Sequence[Node]) -> int:
    """Where in ``later`` (the master-bus nodes after the normaliser) its output trim goes.

    Just before the last limiter, which then holds the true peak of the trimmed
    audio; without one, after the last node that changes the audio (meters and
    silence detectors only watch it).
    """
    for position in range(len(later) - 1, -1, -1):
        if isinstance(later[position], Limiter):
            return position
    for position in range(len(later) - 1, -1, -1):
        if not isinstance(later[position], LevelMeter | SilenceDetector):
            return position + 1
    return 0


def _build_node(config: Node, name: str, later: Sequence[Node]) -> DspNode:
    match config:
        case LoudnessNormalize():
            # NOTE: when a later limiter enforces the same ceiling the node's own true-peak
            # stage would only cost time (and latency): the chain's output is bounded anyway.
            covered = _peak_limit_covered(config, later)
            return LoudnessNormalizerNode(
                config.target_lufs,
                None if covered else config.true_peak_limit,
                config.window_sec,
                config.max_gain_db,
                name=name,
            )
        case Agc():
            return AgcNode(
                config.target_level_db,
                config.max_gain_db,
                config.min_gain_db,
                config.attack_ms,
                config.release_ms,
                config.gate_db,
                name=name,
            )
        case Compressor():
            return CompressorNode(
                config.threshold_db,
                config.ratio,
                config.attack_ms,
                config.release_ms,
                config.makeup_gain_db,
                name=name,
            )
        case Limiter():
            return LimiterNode(config.threshold_db, config.release_ms, name=name)
        case Gate():
            return GateNode(
                config.threshold_db, config.ratio, config.attack_ms, config.release_ms, name=name
            )
        case Equalizer():
            return EqualizerNode(config.bands_db, config.bands, name=name)
        case SilenceDetector():
            return SilenceDetectorNode(config.threshold_db, config.duration_sec, name=name)
        case LevelMeter():
            return LevelMeterNode(name=name)
    raise ValueError(f"no master-bus node for type {config.type!r}")


def build_chain(graph: DspGraph) -> DspChain:
    """The chain for ``graph``: enabled nodes in order; ``duck``/``mix`` go to ``layer_config``.

    The last ``loudness_normalize`` node holds the chain's *output* at its
    target: a trim before the last limiter (``<name>.trim``) and a probe at
    the very end (``<name>.output``) close the loop around the nodes after it
    (see ``_output_loudness``); its true-peak limit then holds at that trim.

    Raises ``EngineError`` naming the node (``dsp_graph.nodes[2] (compressor): …``)
    when one cannot be built, or when the graph has two mix or two duck nodes.
    """
    enabled = [(index, config) for index, config in enumerate(graph.nodes) if config.enabled]
    layer: dict[str, tuple[int, Mix | Duck]] = {}
    master: list[tuple[str, Node, str]] = []  # (where, config, name) in signal order
    seen: Counter[str] = Counter()
    for index, config in enabled:
        where = f"dsp_graph.nodes[{index}] ({config.type})"
        if isinstance(config, Mix | Duck):
            if config.type in layer:
                first = layer[config.type][0]
                raise EngineError(
                    f"{where}: a graph takes one {config.type} node, and nodes[{first}] is one "
                    f"already; remove or disable one of them"
                )
            layer[config.type] = (index, config)
            continue
        base = config.id or config.type
        seen[base] += 1
        master.append((where, config, base if seen[base] == 1 else f"{base}-{seen[base]}"))
    configs = [config for _, config, _ in master]
    looped = max(
        (i for i, config in enumerate(configs) if isinstance(config, LoudnessNormalize)),
        default=None,
    )
    nodes: list[DspNode] = []
    loop_nodes: tuple[int, LoudnessTrimNode, OutputProbeNode] | None = None
    for position, (where, config, name) in enumerate(master):
        later = configs[position + 1 :]
        try:
            if position == looped and isinstance(config, LoudnessNormalize):
                normalizer = LoudnessNormalizerNode(
                    config.target_lufs, None, config.window_sec, config.max_gain_db, name=name
                )
                nodes.append(normalizer)
                loop_nodes = _output_loop(config, normalizer, position, later)
            else:
                nodes.append(_build_node(config, name, later))
        except (ValueError, RuntimeError, TypeError) as exc:
            raise EngineError(
                f"{where}: cannot be built: {exc}. Change that setting or disable the node "
                "(enabled: false)"
            ) from exc
    if loop_nodes is not None:
        at, trim, probe = loop_nodes
        nodes.insert(at, trim)
        nodes.append(probe)
    mix = layer.get("mix")
    duck = layer.get("duck")
    return DspChain(
        nodes,
        LayerConfig(
            mix=mix[1] if mix is not None and isinstance(mix[1], Mix) else None,
            duck=duck[1] if duck is not None and isinstance(duck[1], Duck) else None,
        ),
    )


def _output_loop(
    config: LoudnessNormalize,
    normalizer: LoudnessNormalizerNode,
    position: int,
    later: Sequence[Node],
) -> tuple[int, LoudnessTrimNode, OutputProbeNode]:
    """The trim and the probe that hold the chain's output at ``config.target_lufs``,
    with the trim's place in the chain (the normaliser being at ``position``).

    The normaliser's true-peak limit goes with the trim unless the limiter just
    after the trim holds it: a ceiling in the middle of the chain would not hold
    at the output anyway.
    """
    at = _trim_position(later)
    limit = None if _peak_limit_covered(config, later[at:]) else config.true_peak_limit
    loop = OutputLoudnessLoop(config.target_lufs, config.max_gain_db, normalizer)
    trim = LoudnessTrimNode(loop, limit, name=f"{normalizer.name}.trim")
    return position + 1 + at, trim, OutputProbeNode(loop, name=f"{normalizer.name}.output")
