#!/bin/sh
# 1180-clock-jump: CLOCK_REALTIME jumps back 25 years, then forward 40, while `crash`
# restarts every 1.2 s (0.2 s of life + the 1 s throttle). Every deadline of rs6 is on
# CLOCK_MONOTONIC: the gaps between starts (measured on /proc/uptime) stay within
# [0.95, 2.5] s, timeout-kill kills 1 s after `-d`, and `rs6-svwait -t 1500` times out
# after 1.5 s, whatever the jumps. svstat's seconds stay small once a new transition is
# stamped, and the scanner and supervisors use under 1 % CPU.
name=1180-clock-jump
S=/run/service
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
starts() { wc -l < /run/crash.starts 2>/dev/null || echo 0; }
wait_starts() {
  i=0
  until [ "$(starts)" -ge "$1" ]; do
    [ $i -ge 150 ] && fail "crash started $(starts) times, waited for $1"
    sleep 0.1
    i=$((i + 1))
  done
}
# The supervisor of service $1.
sup_pid() {
  for p in /proc/[0-9]*; do
    [ "$(cat $p/comm 2>/dev/null)" = rs6-supervise ] &&
      [ "$(readlink $p/cwd)" = "$S/$1" ] && { echo "${p#/proc/}"; return; }
  done
}
ticks() { awk '{ print $14 + $15 }' /proc/$1/stat; }

for s in steady stubborn; do
  i=0
  until [ "$(rs6-svstat -o up $S/$s 2>/dev/null)" = true ]; do
    [ $i -ge 100 ] && fail "$s not up after 10 s"
    sleep 0.1
    i=$((i + 1))
  done
done
wait_starts 2
pids="1 $(sup_pid crash) $(sup_pid stubborn) $(sup_pid steady)"
[ "$(echo $pids | wc -w)" = 4 ] || fail "supervisors not found: $pids"
t0=$(uptime_ms)
c0=""
for p in $pids; do c0="$c0 $p:$(ticks $p)"; done

date -s '2001-01-01 00:00:00' > /dev/null || fail "date -s failed"
echo "rs6-test: clock set back to $(date)"
n=$(starts); wait_starts $((n + 3))

# timeout-kill across a jump back: -d at t, SIGKILL about 1 s later.
td=$(uptime_ms)
rs6-svc -d $S/stubborn || fail "rs6-svc -d stubborn"
date -s '1990-06-01 00:00:00' > /dev/null
i=0
until [ "$(rs6-svstat -o up $S/stubborn)" = false ]; do
  [ $i -ge 100 ] && fail "stubborn still up 10 s after -d"
  sleep 0.05
  i=$((i + 1))
done
dk=$(( $(uptime_ms) - td ))
sig=$(rs6-svstat -o signal $S/stubborn)
echo "rs6-test: timeout-kill after a jump back: down after $dk ms by $sig"
[ "$sig" = SIGKILL ] || fail "stubborn stopped by $sig"
[ $dk -ge 900 ] && [ $dk -le 3000 ] || fail "timeout-kill took $dk ms"

date -s '2040-01-01 00:00:00' > /dev/null || fail "date -s failed"
echo "rs6-test: clock set forward to $(date)"
n=$(starts); wait_starts $((n + 3))

# svwait's timeout across a jump back, during the wait.
(sleep 0.3; date -s '2000-01-01 00:00:00' > /dev/null) &
tw=$(uptime_ms)
rs6-svwait -u -t 1500 $S/stubborn 2> /dev/null
code=$?
dw=$(( $(uptime_ms) - tw ))
wait
echo "rs6-test: svwait -t 1500 across a jump: exit $code after $dw ms"
[ $code = 99 ] || fail "svwait exited $code, not 99 (timeout)"
[ $dw -ge 1400 ] && [ $dw -le 4000 ] || fail "svwait timed out after $dw ms"

n=$(starts); wait_starts $((n + 2))
t1=$(uptime_ms)
gaps=$(awk 'NR > 1 { printf "%d ", ($1 - prev) * 1000 } { prev = $1 }' /run/crash.starts)
echo "rs6-test: restart gaps (ms): $gaps"
for g in $gaps; do
  [ $g -ge 950 ] || fail "restart after $g ms: the 1 s throttle did not hold"
  [ $g -le 2500 ] || fail "restart after $g ms: a clock jump delayed it"
done
echo "rs6-test: metric restart_gap_min_ms $(echo $gaps | tr ' ' '\n' | sort -n | head -n 1)"

line=$(rs6-svstat $S/crash)
echo "rs6-test: crash: $line"
secs=$(echo "$line" | sed -n 's/.*) \([0-9]*\) seconds.*/\1/p')
[ -n "$secs" ] && [ "$secs" -le 5 ] || fail "svstat crash says '$line'"
line=$(rs6-svstat $S/steady)
echo "rs6-test: steady: $line"
case $line in "up (pid "*) ;; *) fail "steady: $line" ;; esac

# CPU: each of the scanner (pid 1) and the three supervisors under 1 % of the window.
window=$(( (t1 - t0) / 10 ))
for pt in $c0; do
  p=${pt%:*}
  used=$(( $(ticks $p) - ${pt#*:} ))
  echo "rs6-test: pid $p ($(cat /proc/$p/comm)) used $used ticks in $window"
  [ $((used * 100)) -lt $window ] || fail "pid $p used $used ticks in $window: more than 1 %"
done
echo "rs6-test: PASS $name"
