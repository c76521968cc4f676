#!/usr/bin/env bash
# Runs inside the kernel lane's VM (as root, over the host's filesystem): loads the modules the
# tests need, runs the kernel-marked tests and the stamp benchmark, and leaves the pytest exit
# code in $1/pytest.rc for tests/kernel/run (the VM's own exit code says only that it ran).
set -uo pipefail
out=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# No plugin autoload: under emulation every import costs ten times what it does on the host.
export PYTHONDONTWRITEBYTECODE=1 RIG_KERNEL_LANE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
for module in vcan can-raw gpio-sim; do
    modprobe "$module" || echo "kernel lane (guest): modprobe $module failed"
done
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
echo "kernel lane (guest): $(uname -r), $(nproc) CPUs"
.venv/bin/python -m pytest -q -p no:cacheprovider -p timeout -m kernel tests/kernel \
    --ignore=tests/kernel/systemd --junitxml="$out/kernel.xml" -o junit_family=xunit2
echo $? >"$out/pytest.rc"
ip link add dev vcanbench type vcan && ip link set vcanbench up
.venv/bin/python bench/stamp_accuracy.py --kernel --can-channel vcanbench --count 300 --rate 50 >"$out/bench.txt" 2>&1
echo $? >"$out/bench.rc"
