#!/usr/bin/env bash
# Runs in the kernel lane's container as the boot's systemd.run= unit (root, systemd as PID 1):
# the systemd tests, with their log and exit code left in /lane-out (bound from the host) for
# tests/kernel/run. No arguments: systemd.run= keeps only the command's first word.
out=/lane-out
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root" || exit 1
RIG_KERNEL_LANE=1 PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m pytest -q -p no:cacheprovider \
    -m kernel -rA tests/kernel/systemd >"$out/pytest.log" 2>&1
echo $? >"$out/pytest.rc"
