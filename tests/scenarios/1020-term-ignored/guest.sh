#!/bin/sh
# A process that ignores SIGTERM survives stage 3's TERM and is killed with
# KILL after the grace time (rs6.grace=1000 here); the machine still powers off.
name=1020-term-ignored
sh -c 'trap "" TERM HUP; while :; do echo "stubborn: alive at $(cut -d" " -f1 /proc/uptime)"; sleep 0.3; done' &
sleep 0.5
kill -0 $! || { echo "rs6-test: FAIL $name: stubborn process did not start"; exit 1; }
echo "rs6-test: PASS $name"
