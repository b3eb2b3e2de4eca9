#!/bin/sh
# 1530-halt: `halt` at the console goes down the orderly way and halts (no power-off, no
# reboot).
name=1530-halt
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }
i=0
until [ "$(rs6-svstat -o up /run/service/svc 2>/dev/null)" = true ]; do
  [ $i -ge 100 ] && fail "svc not up after 10 s"
  sleep 0.1
  i=$((i + 1))
done
echo "rs6-test: PASS $name"
halt || fail "halt failed: $?"
sleep 60
fail "still running 60 s after halt"
