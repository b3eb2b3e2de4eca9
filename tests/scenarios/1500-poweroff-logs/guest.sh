#!/bin/sh
# 1500-poweroff-logs: services write to the disk; once 200 numbered lines went to the
# logger, `poweroff` (busybox: SIGUSR2 to process 1). What the shutdown left on the disk is
# judged by check.sh on the host; here only the preconditions are checked.
name=1500-poweroff-logs
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }

n=0
until [ -f /mnt/log/written ] && [ "$(wc -l < /mnt/log/written)" -ge 200 ]; do
  [ $n -ge 300 ] && fail "fewer than 200 lines written after 30 s"
  sleep 0.1
  n=$((n + 1))
done
for s in writer writer/log sleeper stubborn; do
  rs6-svok /run/service/$s || fail "$s: no supervisor"
  st=$(rs6-svstat /run/service/$s)
  case $st in up*) ;; *) fail "$s: $st" ;; esac
  echo "rs6-test: $s: $st"
done
[ -s /mnt/log/stubborn.beats ] || fail "stubborn: no heartbeat"
grep -q ' /mnt/log ext4 ' /proc/mounts || fail "/mnt/log is not an ext4 mount"
echo "rs6-test: PASS $name"
cut -d' ' -f1 /proc/uptime > /mnt/log/poweroff.at
echo "rs6-test: poweroff at $(cat /mnt/log/poweroff.at), $(wc -l < /mnt/log/written) lines written"
poweroff
sleep 60
