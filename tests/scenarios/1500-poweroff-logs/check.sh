#!/bin/sh
# Host check of 1500-poweroff-logs, run by the harness after QEMU exited ($DISK is the
# guest's /dev/vda, read with e2fsprogs without mounting it). Checks that the shutdown:
#  - left the file system clean (unmounted, nothing to recover, e2fsck finds nothing);
#  - ran every finish script (writer, sleeper);
#  - lost no logged line: the logger's archives then `current` hold lines 1..M in order,
#    gap-free, and M covers every number the writer recorded as written (M = N or N+1:
#    the writer may die between writing line N+1 and recording it);
#  - let the logger drain and exit by itself (`current` mode 0744, rs6-log's clean exit);
#  - killed the TERM-ignoring service only after the grace time (2 s after `poweroff`).
set -u
fail() { echo "FAIL: $*"; exit 1; }
[ -f "$DISK" ] || fail "no disk image at '$DISK'"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
get() { debugfs -R "cat $1" "$DISK" 2>/dev/null; }

# 1. A clean file system.
dumpe2fs -h "$DISK" > "$tmp/super" 2>/dev/null || fail "dumpe2fs failed"
grep -q '^Filesystem state: *clean$' "$tmp/super" ||
  fail "file system not clean: $(grep '^Filesystem state:' "$tmp/super")"
if grep '^Filesystem features:' "$tmp/super" | grep -q needs_recovery; then
  fail "journal needs recovery: the disk was not unmounted"
fi
e2fsck -fn "$DISK" > "$tmp/fsck" 2>&1 || { cat "$tmp/fsck"; fail "e2fsck -fn found problems"; }
echo "ok: file system clean, e2fsck -fn clean"

# 2. Every finish script ran.
get /finish.marks > "$tmp/finish"
echo "finish.marks: $(tr '\n' ';' < "$tmp/finish")"
for s in writer sleeper; do
  grep -q "^$s finish " "$tmp/finish" || fail "no finish mark for $s"
done
echo "ok: finish scripts ran"

# 3. Every line written before the shutdown is in the logs.
get /written > "$tmp/written"
n=$(awk 'END { print NR }' "$tmp/written")
[ "$n" -ge 200 ] || fail "only $n lines recorded as written"
awk '$0 != NR { print "written: line " NR " is " $0; exit 1 }' "$tmp/written" ||
  fail "the writer's record is not 1..$n"
debugfs -R "ls -p /writer" "$DISK" 2>/dev/null > "$tmp/ls" || fail "no logdir /writer"
# ls -p: /inode/mode/uid/gid/name/size/
archives=$(awk -F/ '$6 ~ /^@[0-9a-f]+\.[su]$/ { print $6 }' "$tmp/ls" | sort)
mode=$(awk -F/ '$6 == "current" { print $3 }' "$tmp/ls")
[ -n "$mode" ] || fail "no /writer/current"
: > "$tmp/log"
for a in $archives current; do get "/writer/$a" >> "$tmp/log"; done
m=$(awk 'END { print NR }' "$tmp/log")
awk '$1 != "line" || $2 != NR { print "log line " NR ": " $0; exit 1 }' "$tmp/log" ||
  fail "logged lines are not 1..$m in order"
echo "logger: $(echo $archives | wc -w) archives + current, lines 1..$m; writer recorded 1..$n"
[ "$m" -ge "$n" ] || fail "lines $((m + 1))..$n were written but are not in the logs"
[ "$m" -le $((n + 1)) ] || fail "$m lines logged but only $n recorded as written"
echo "ok: no line lost"
[ "$mode" = 100744 ] || fail "current has mode $mode, not 100744: rs6-log did not exit cleanly"
echo "ok: the logger drained and exited (current is 0744)"

# 4. The TERM-ignoring service lived through the grace time, then was killed.
at=$(get /poweroff.at)
last=$(get /stubborn.beats | tail -n 1)
[ -n "$at" ] && [ -n "$last" ] || fail "no poweroff.at or stubborn.beats"
echo "poweroff at $at s; stubborn's last heartbeat at $last s"
awk -v a="$at" -v l="$last" 'BEGIN { exit !(l >= a + 1.7) }' ||
  fail "stubborn stopped before the grace time was over"
echo "ok: stubborn alive $(awk -v a="$at" -v l="$last" 'BEGIN { printf "%.2f", l - a }') s after poweroff"
echo "PASS"
