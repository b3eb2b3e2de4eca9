#!/bin/sh
# 1520-ctrl-alt-del: the harness presses Ctrl-Alt-Del when it sees the ready line; the
# machine must reboot through rs6-shutdown and stage 3 (this script never ends by itself).
name=1520-ctrl-alt-del
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }
i=0
until [ "$(rs6-svstat -o up /run/service/svc 2>/dev/null)" = true ]; do
  [ $i -ge 100 ] && fail "svc not up after 10 s"
  sleep 0.1
  i=$((i + 1))
done
[ "$(cat /proc/sys/kernel/ctrl-alt-del)" = 0 ] ||
  fail "kernel.ctrl-alt-del is $(cat /proc/sys/kernel/ctrl-alt-del): the kernel would reboot at once"
echo "rs6-test: PASS $name"
echo "rs6-test: ready for cad"
sleep 30
fail "no reboot 30 s after Ctrl-Alt-Del"
