#!/usr/bin/env bash
# Issue #25's GPU figures in one call on a lent GPU machine (the `device` tool), under 5 minutes:
# time to file of a Stable Audio Open Small-sized model (random weights, 12 s) on the GPU beside
# the bare library call (target <= 1.3x), and the DAW-ready chain on that machine's CPU.
# Prepare here first: `make gpu-wheels` (the packages that machine lacks, into .whl/, ignored by
# git). Then run, from the repository root there, carrying .whl:
#     bash bench/gpu/check.sh            # figures on stdout and in $OUT (or ./gpu-out)
set -euo pipefail
OUT="${OUT:-gpu-out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
if [ -d .whl ]; then  # the wheels go beside the machine's own packages, not over them
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --ignore-requires-python --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
{
  echo "## machine"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  "$PY" -c "import sys, torch; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  echo "## time to file, SAO Small-sized, cuda (target <= 1.3x)"
  timeout 240 "$PY" bench/time_to_file.py --sao-small cuda --runs 10 || echo "time_to_file failed (exit $?)"
  echo "## the DAW-ready chain on this machine's CPU"
  timeout 60 "$PY" bench/writer.py || echo "writer failed (exit $?)"
} 2>&1 | tee "$OUT/gpu-check.txt"
