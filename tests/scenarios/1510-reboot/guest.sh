#!/bin/sh
# 1510-reboot: `reboot` at the console goes down the orderly way (rs6-shutdown, the
# services stopped and their finish run, stage 3) and ends in reboot(2), not a power-off.
name=1510-reboot
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }
i=0
until [ "$(rs6-svstat -o up /run/service/svc 2>/dev/null)" = true ]; do
  [ $i -ge 100 ] && fail "svc not up after 10 s"
  sleep 0.1
  i=$((i + 1))
done
echo "rs6-test: PASS $name"
reboot || fail "reboot failed: $?"
sleep 60
fail "still running 60 s after reboot"
