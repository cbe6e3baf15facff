#!/usr/bin/env bash
# Set up a fresh machine for WavLink: system packages (when root), a virtual environment, and the
# pinned Python packages on the CPU build of torch. Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
APT_PACKAGES="ffmpeg chromium"   # ffmpeg: m4a/aac/webm decoding; chromium: the demo browser test

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=""
  for pkg in $APT_PACKAGES; do dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"; done
  if [ -n "$missing" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# The constraint keeps every pip call (and every package's own dependencies) on CPU torch.
export PIP_CONSTRAINT="$PWD/constraints.txt"
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt \
  2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)

.venv/bin/python - <<'PY'
import importlib.metadata as md, torch
assert torch.__version__.startswith("2.13.0"), torch.__version__
cuda = [d.metadata["Name"] for d in md.distributions() if d.metadata["Name"].lower().startswith(("nvidia", "triton"))]
assert not cuda, f"CUDA wheels crept in: {cuda}"
print(f"setup ok: torch {torch.__version__} (cuda {torch.version.cuda}), venv .venv")
PY
