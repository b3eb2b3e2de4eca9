#!/bin/sh
# 1540-bad-inputs: rc.init exited 1, yet this console program runs; the good service is up
# next to services whose run is not executable, missing, has a bad interpreter, or exits at
# once; the scanner and process 1 are fine. Then exit: rs6-init powers off.
name=1540-bad-inputs
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }
sv=/run/service
[ "$(cat /proc/1/comm)" = rs6-svscan ] || fail "process 1 is $(cat /proc/1/comm)"
i=0
until [ "$(rs6-svstat -o up $sv/good 2>/dev/null)" = true ]; do
  [ $i -ge 100 ] && fail "good not up after 10 s"
  sleep 0.1
  i=$((i + 1))
done
sleep 2   # a few respawns of the bad ones
for s in good noexec norun badinterp crashing; do
  echo "rs6-test: $s: $(rs6-svstat $sv/$s 2>&1)"
done
for s in noexec badinterp crashing; do
  rs6-svok $sv/$s || fail "$s: no supervisor"
  case $(rs6-svstat $sv/$s) in
    "down "*", want up"*) ;;
    *) fail "$s: $(rs6-svstat $sv/$s): not down and wanted up" ;;
  esac
done
line=$(rs6-svstat $sv/good)
echo "$line" | grep -Eq '^up \(pid [0-9]+\) [0-9]+ seconds$' || fail "good: $line"
[ -d /proc/$(echo "$line" | sed 's/^up (pid \([0-9]*\)).*/\1/') ] || fail "good: no such pid"
echo "rs6-test: PASS $name"
