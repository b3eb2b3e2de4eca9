#!/bin/sh
# 1000-boot-poweroff: rs6-init ran this script as rs6.script with /proc mounted and /run
# a tmpfs; when it exits, rs6-init powers off (the harness checks QEMU exits 0).
name=1000-boot-poweroff
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }

[ -d /proc/self ] || fail "/proc is not mounted"
grep -q ' /run tmpfs ' /proc/mounts || fail "/run is not a tmpfs: $(grep ' /run ' /proc/mounts)"
echo "rs6-test: pid 1 is $(cat /proc/1/comm)"
echo "rs6-test: PASS $name"
