#!/bin/sh
# 1541-missing-sv: process 1 is rs6-svscan on /run/a/b/service, which holds nothing but
# .s6-svscan and the catch-all logger. Then exit: rs6-init powers off.
name=1541-missing-sv
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }
sv=/run/a/b/service
[ "$(cat /proc/1/comm)" = rs6-svscan ] || fail "process 1 is $(cat /proc/1/comm)"
[ "$(readlink /proc/1/cwd)" = $sv ] || fail "process 1 works in $(readlink /proc/1/cwd), not $sv"
[ -p $sv/.s6-svscan/control ] || fail "no $sv/.s6-svscan/control fifo"
[ ! -e /run/service ] || fail "/run/service exists: rs6.scandir ignored"
entries=$(ls -A $sv | tr '\n' ' ')
echo "rs6-test: scan directory: $entries"
for e in $entries; do
  case $e in .s6-svscan|s6-svscan-log) ;; *) fail "unexpected $sv/$e" ;; esac
done
rs6-svscanctl -a $sv || fail "rs6-svscanctl -a failed"
echo "rs6-test: PASS $name"
