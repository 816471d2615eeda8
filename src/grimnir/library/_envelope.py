"""Intro end and segue point from a track's energy envelope.

The envelope is the mean square of the audio (summed over channels, not
K-weighted) in consecutive hops of ``hop_ms`` (100 ms by default), which the
analyser gets almost for free while it measures peaks. The method:

1. **Level over time**: the envelope smoothed with a centred 3 s moving
   average (the length of EBU short-term loudness), in dB. Centring makes a
   step in level cross halfway at the step itself, so markers land on edges
   rather than 1.5 s late.
2. **Track level**: the envelope gated as ITU-R BS.1770 gates loudness —
   400 ms blocks, absolute gate −70 dB, relative gate 10 dB under the mean of
   the blocks above it — so quiet intros, breaks and silence do not drag the
   reference down. Both use the same (unweighted) measure, so only their
   difference matters.
3. **Intro end**: the first time after cue-in the level reaches within
   ``intro_within_db`` (3 dB) of the track level — where the song arrives at
   full energy. Equal to cue-in when the song starts at full energy.
4. **Segue**: the end of the last hop before cue-out whose level is at most
   ``segue_below_db`` (10 dB) under the track level — where the ending has
   faded far enough for the next item to start. Never before intro end and
   never after cue-out.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Energy = npt.NDArray[np.float64]

SMOOTH_MS = 3000
GATE_BLOCK_MS = 400
ABSOLUTE_GATE_DB = -70.0
RELATIVE_GATE_DB = -10.0
_TINY = 1e-20


def smoothed_level_db(energy: Energy, hop_ms: int, window_ms: int = SMOOTH_MS) -> Energy:
    """The envelope as a centred moving average over ``window_ms``, in dB."""
    width = max(1, round(window_ms / hop_ms))
    kernel = np.full(width, 1.0 / width)
    smooth = np.convolve(energy, kernel, mode="same")  # outside the file counts as silence
    return 10.0 * np.log10(np.maximum(smooth, _TINY))


def gated_level_db(energy: Energy, hop_ms: int) -> float | None:
    """The track level in dB, gated like BS.1770 loudness; None if all is below the gate."""
    per_block = max(1, round(GATE_BLOCK_MS / hop_ms))
    n = len(energy) // per_block * per_block
    blocks = energy[:n].reshape(-1, per_block).mean(axis=1) if n else energy[:1]
    loud = blocks[blocks > 10.0 ** (ABSOLUTE_GATE_DB / 10.0)]
    if loud.size == 0:
        return None
    relative = float(np.mean(loud)) * 10.0 ** (RELATIVE_GATE_DB / 10.0)
    kept = loud[loud > relative]
    return 10.0 * math.log10(float(np.mean(kept)))


def markers(
    energy: Energy,
    hop_ms: int,
    cue_in_ms: int,
    cue_out_ms: int,
    intro_within_db: float = 3.0,
    segue_below_db: float = 10.0,
) -> tuple[int | None, int | None]:
    """``(intro_end_ms, segue_ms)`` from per-hop mean squares; (None, None) if silent.

    ``energy[i]`` is the mean square of hop ``i`` (``i * hop_ms`` to
    ``(i + 1) * hop_ms``). Cue points bound the search; see the module text.
    """
    reference = gated_level_db(energy, hop_ms)
    if reference is None or cue_out_ms <= cue_in_ms:
        return None, None
    level = smoothed_level_db(energy, hop_ms)
    first = cue_in_ms // hop_ms
    last = min(len(energy), -(-cue_out_ms // hop_ms))
    window = level[first:last]
    if window.size == 0:
        return None, None
    full = np.flatnonzero(window >= reference - intro_within_db)
    if full.size == 0:
        return None, None
    intro_end = max(cue_in_ms, (first + int(full[0])) * hop_ms)
    alive = np.flatnonzero(window >= reference - segue_below_db)
    segue = min(cue_out_ms, (first + int(alive[-1]) + 1) * hop_ms)
    return intro_end, max(segue, intro_end)


def waveform_pairs(mono: npt.NDArray[np.float32], hop: int) -> bytes:
    """int8 (min, max) per hop of ``mono`` (a partial last hop counts), scaled ×127."""
    n = mono.shape[0]
    whole = n // hop * hop
    lows = [mono[:whole].reshape(-1, hop).min(axis=1)] if whole else []
    highs = [mono[:whole].reshape(-1, hop).max(axis=1)] if whole else []
    if whole < n:
        lows.append(mono[whole:].min(keepdims=True))
        highs.append(mono[whole:].max(keepdims=True))
    if not lows:
        return b""
    pairs = np.stack([np.concatenate(lows), np.concatenate(highs)], axis=1)
    return np.clip(np.round(pairs * 127.0), -127, 127).astype(np.int8).tobytes()
