"""The automation layer's mixing, kept together: ``automation`` (the timed queue
and its decks, hard and soft starts, skip and stop), ``voice`` (one playing item:
its source, cue points, gain and fades), ``smart`` (smart crossfades from each
track's measured intro and outro) and ``fades`` (fade curves and declicks).

Import from the modules themselves (``grimnir.engine.mixing.automation``).
"""
