#!/bin/sh
# Host check of 1040-disk-root, run after QEMU exited ($DISK: the root file system image,
# read with e2fsprogs without mounting it): the shutdown left it clean, and what the guest
# wrote to it (the example service's log, the marker) is there.
set -u
fail() { echo "FAIL: $*"; exit 1; }
[ -f "$DISK" ] || fail "no disk image at '$DISK'"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
get() { debugfs -R "cat $1" "$DISK" 2>/dev/null; }

dumpe2fs -h "$DISK" > "$tmp/super" 2>/dev/null || fail "dumpe2fs failed"
grep -q '^Filesystem state: *clean$' "$tmp/super" ||
  fail "file system not clean: $(grep '^Filesystem state:' "$tmp/super")"
if grep '^Filesystem features:' "$tmp/super" | grep -q needs_recovery; then
  fail "journal needs recovery: / was not remounted read-only"
fi
e2fsck -fn "$DISK" > "$tmp/fsck" 2>&1 || { cat "$tmp/fsck"; fail "e2fsck -fn found problems"; }
echo "ok: file system clean, e2fsck -fn clean"

[ "$(get /var/log/marker)" = 1040-disk-root ] || fail "no /var/log/marker written by the guest"
get /var/log/heartbeat/current > "$tmp/log"
grep -q '^@[0-9a-f]\{24\} heartbeat 1: up ' "$tmp/log" ||
  fail "no stamped 'heartbeat 1' line in /var/log/heartbeat/current: $(head -c 200 "$tmp/log")"
echo "ok: /var/log/heartbeat/current: $(head -n 1 "$tmp/log")"
debugfs -R "ls -p /var/log/heartbeat" "$DISK" 2>/dev/null > "$tmp/ls"
mode=$(awk -F/ '$6 == "current" { print $3 }' "$tmp/ls")
[ "$mode" = 100744 ] || fail "current has mode $mode, not 100744: rs6-log did not exit cleanly"
echo "ok: the logger exited cleanly (current is 0744)"
echo "PASS"
