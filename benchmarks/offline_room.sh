#!/usr/bin/env bash
# The offline room, Linux variant, timed (README, "The offline room"): build the package's
# wheel, download every wheel a learner needs into one folder, then install from that folder
# alone into a fresh venv (no index, no pip configuration) and run the check outside the
# repository. Usage: benchmarks/offline_room.sh [WORKDIR] (default: a new temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
wheels=$work/wheels
python=${PYTHON:-.venv/bin/python}
version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
rm -rf "$wheels" "$work/venv" && mkdir -p "$wheels"
t0=$(date +%s)
"$python" -m pip wheel -q --no-deps -w "$wheels" .
t1=$(date +%s)
"$python" -m pip download -q -d "$wheels" --only-binary=:all: --platform manylinux_2_28_x86_64 \
    --platform manylinux2014_x86_64 --python-version "$version" --find-links "$wheels" \
    "maskrcnn-tutorial[notebooks]"
t2=$(date +%s)
echo "wheel: $((t1 - t0)) s; download: $((t2 - t1)) s"
echo "folder: $(du -sh "$wheels" | cut -f1) in $(ls "$wheels" | wc -l) files"
base=$("$python" -c 'import sys, os; print(os.path.join(sys.base_prefix, "bin", "python3"))')
env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "$base" -m venv "$work/venv"
t3=$(date +%s)
env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "$work/venv/bin/python" -m pip install -q \
    --no-index --find-links "$wheels" "maskrcnn-tutorial[notebooks]"
t4=$(date +%s)
echo "offline install into a fresh venv: $((t4 - t3)) s; venv: $(du -sh "$work/venv" | cut -f1)"
cd "$work" && "$work/venv/bin/maskrcnn-tutorial" doctor
