#!/bin/sh
# Orphans are reparented to process 1 and must be reaped by it: a daemon that
# double-forks leaves no zombie behind.
name=1010-orphans
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }
for i in 1 2 3 4 5; do
  sh -c 'sleep 0.5 & echo $! > /tmp/orphan.'$i
done
for i in 1 2 3 4 5; do
  pid=$(cat /tmp/orphan.$i)
  ppid=$(awk '{print $4}' /proc/$pid/stat 2>/dev/null)
  [ "$ppid" = 1 ] || fail "orphan $pid has parent '$ppid', not 1"
done
echo "orphans: 5 reparented to process 1"
sleep 1.5
for i in 1 2 3 4 5; do
  pid=$(cat /tmp/orphan.$i)
  [ -e /proc/$pid ] && fail "orphan $pid not reaped: state $(awk '{print $3}' /proc/$pid/stat)"
done
z=$(cat /proc/[0-9]*/stat 2>/dev/null | awk '$3 == "Z"' | wc -l)
[ "$z" = 0 ] || fail "$z zombie(s) left"
echo "orphans: all reaped, no zombie"
echo "rs6-test: PASS $name"
