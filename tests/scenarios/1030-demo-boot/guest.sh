#!/bin/sh
# 1030-demo-boot: process 1 is rs6-svscan; every demo service reaches its state (ticker
# and its logger up, ready up and ready, idle down, the catch-all logger up); rs6-svstat
# prints s6's line for each; the supervisors are children of process 1. Prints the guest
# clock (/proc/uptime) at the moment every service was up/ready: boot_to_ready_ms.
name=1030-demo-boot
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }
sv=/run/service
# Milliseconds of /proc/uptime (it has two decimals).
ms() { read -r up _ < /proc/uptime; echo $(( ${up%.*} * 1000 + 10 * $(echo "${up#*.}" | sed 's/^0//') )); }
all_ready() {
  [ "$(rs6-svstat -o up $sv/ticker 2>/dev/null)" = true ] &&
    [ "$(rs6-svstat -o up $sv/ticker/log 2>/dev/null)" = true ] &&
    [ "$(rs6-svstat -o up $sv/s6-svscan-log 2>/dev/null)" = true ] &&
    [ "$(rs6-svstat -o up,ready $sv/ready 2>/dev/null)" = "true true" ]
}

start=$(ms)
first=yes
until all_ready; do
  first=no
  [ $(( $(ms) - start )) -gt 15000 ] && fail "services not up/ready after 15 s"
  usleep 10000
done
ready=$(ms)
echo "rs6-test: metric boot_to_ready_ms $ready"
[ $first = yes ] && echo "rs6-test: note: all services were ready when the console program started (at $start ms)"
# Process 1's start on the guest clock (field 22 of /proc/1/stat, in 1/100 s).
echo "rs6-test: metric pid1_start_ms $(( $(cut -d' ' -f22 /proc/1/stat) * 10 ))"

pid1=$(cat /proc/1/comm)
echo "rs6-test: pid 1 is $pid1"
[ "$pid1" = rs6-svscan ] || fail "process 1 is $pid1, not rs6-svscan"

# s6's human lines (Debian's s6-svstat prints these forms).
check() { # DIR REGEX COMM
  rs6-svok $sv/$1 || fail "$1: no supervisor"
  line=$(rs6-svstat $sv/$1) || fail "$1: rs6-svstat failed"
  echo "rs6-test: $1: $line"
  echo "$line" | grep -Eq "$2" || fail "$1: \`$line' does not match \`$2'"
  if [ -n "$3" ]; then
    pid=$(echo "$line" | sed 's/^up (pid \([0-9]*\)).*/\1/')
    comm=$(cat /proc/$pid/comm 2>/dev/null)
    [ "$comm" = "$3" ] || fail "$1: pid $pid is \`$comm', not $3"
  fi
}
up='^up \(pid [0-9]+\) [0-9]+ seconds$'
check ticker "$up" run
check ticker/log "$up" rs6-log
check s6-svscan-log "$up" rs6-log
check ready '^up \(pid [0-9]+\) [0-9]+ seconds, ready [0-9]+ seconds$' sleep
check idle '^down \(exitcode 0\) [0-9]+ seconds, ready [0-9]+ seconds$'
[ "$(rs6-svstat -o up,wantedup,normallyup $sv/idle)" = "false false false" ] ||
  fail "idle: up,wantedup,normallyup = $(rs6-svstat -o up,wantedup,normallyup $sv/idle)"

# One supervisor per service and per logger, each a child of process 1.
n=0
for p in /proc/[0-9]*; do
  [ "$(cat $p/comm 2>/dev/null)" = rs6-supervise ] || continue
  ppid=$(awk '{print $4}' $p/stat)
  [ "$ppid" = 1 ] || fail "rs6-supervise ${p#/proc/} has parent $ppid"
  n=$((n + 1))
done
[ $n = 5 ] || fail "$n supervisors, want 5 (ticker, ticker/log, ready, idle, s6-svscan-log)"

# The ticker's lines reach its logdir, TAI64N-stamped.
i=0
until grep -Eq '^@[0-9a-f]{24} tick [0-9]+$' /run/log/ticker/current 2>/dev/null; do
  [ $i -ge 50 ] && fail "no tick in /run/log/ticker/current: $(tail -n 2 /run/log/ticker/current 2>&1)"
  sleep 0.1
  i=$((i + 1))
done
echo "rs6-test: ticker logged: $(tail -n 1 /run/log/ticker/current)"

# idle starts on request and stops again.
rs6-svc -u $sv/idle || fail "rs6-svc -u idle failed"
i=0
until [ "$(rs6-svstat -o up $sv/idle)" = true ]; do
  [ $i -ge 50 ] && fail "idle not up 5 s after rs6-svc -u"
  sleep 0.1
  i=$((i + 1))
done
check idle '^up \(pid [0-9]+\) [0-9]+ seconds, normally down$' sleep
rs6-svc -d $sv/idle || fail "rs6-svc -d idle failed"
i=0
until [ "$(rs6-svstat -o up $sv/idle)" = false ]; do
  [ $i -ge 50 ] && fail "idle still up 5 s after rs6-svc -d"
  sleep 0.1
  i=$((i + 1))
done
check idle '^down \(signal SIGTERM\) [0-9]+ seconds, ready [0-9]+ seconds$'
echo "rs6-test: PASS $name"
