#!/usr/bin/env bash
# Node and npm for building the web UI (ui/): Debian's packages when missing.
# Vite 8 needs Node 20.19 or newer.
set -euo pipefail

need_major=20
need_minor=19

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        run() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
            echo "ui: need root to install Node: $*" >&2; exit 1; fi; }
        echo "ui: installing Node and npm (Debian's nodejs, npm)"
        run apt-get update -qq
        run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
    else
        echo "ui: Node and npm are missing: install Node $need_major.$need_minor or newer with npm" >&2
        exit 1
    fi
fi

version=$(node --version | sed 's/^v//')
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
if [ "$major" -lt "$need_major" ] || { [ "$major" -eq "$need_major" ] && [ "$minor" -lt "$need_minor" ]; }; then
    echo "ui: Node $version is too old to build the web UI: install Node $need_major.$need_minor or newer" >&2
    exit 1
fi
