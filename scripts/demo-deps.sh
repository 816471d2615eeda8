#!/usr/bin/env bash
# Best effort for `make demo`: install espeak-ng so the demo's station IDs speak.
# Needs apt-get and root (or password-less sudo); anything else is a note, never
# a failure: without espeak-ng the station IDs are synthesized stings only.
set -u

if command -v espeak-ng >/dev/null 2>&1 || command -v espeak >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "demo: espeak-ng not found and no apt-get here; station IDs will be stings only" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "demo: not root; to get spoken station IDs run: sudo apt-get install espeak-ng" >&2
        exit 0
    fi
fi
echo "demo: installing espeak-ng for spoken station IDs"
if ! { $SUDO apt-get update -qq >/dev/null 2>&1 &&
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        espeak-ng >/dev/null 2>&1; }; then
    echo "demo: could not install espeak-ng; station IDs will be stings only" >&2
fi
exit 0
