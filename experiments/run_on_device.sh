#!/usr/bin/env bash
# Run the standard preset on a lent GPU machine (the project's `device` tool), one sweep after
# another, all runs on the GPU with 12 worker processes, within a time limit; what finished
# comes back as data/experiments (runs resume locally or on a later machine).
#   bash experiments/run_on_device.sh <seconds> <code commit>
# The corpus (data/corpus, built here with `make corpus`) travels with the tree.
set -u
limit=${1:-480}
export SCALING_CODE_COMMIT=${2:-unknown} PYTHONPATH=$PWD PYTHONUNBUFFERED=1
out=${OUT:-/tmp/device-out}
mkdir -p "$out"
end=$((SECONDS + limit))
{
  nvidia-smi -L
  python3 -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available())"
  for s in size isoflop lr_tune data shape lr_schedule synthetic; do
    left=$((end - SECONDS))
    [ "$left" -lt 20 ] && { echo "time is up before sweep $s"; break; }
    timeout "$left" python3 -m scaling_utils.experiment run --preset standard --sweep "$s" --workers 12 \
      --device cuda --corpus data/corpus --out data/experiments || echo "sweep $s stopped (exit $?)"
  done
  pkill -f "scaling_utils.experiment" || true
  sleep 2
} 2>&1 | tee "$out/device.log"
tar czf "$out/results.tgz" data/experiments
ls -la "$out"
