#!/bin/sh
# 1040-disk-root: booted from /dev/vda through the diskboot initramfs, which mounted it
# read-only and moved /dev, /proc and /sys onto it before switch_root to /sbin/init (a
# link to rs6-init). rs6-init mounted nothing twice and remounted / read-write (rs6.rw=1);
# the default rc.init mounted /etc/fstab's /tmp and set the hostname; the example service
# (rs6.sv=/etc/rs6/examples) logs to /var/log/heartbeat on the disk. Then `poweroff`
# (/sbin/poweroff: rs6-hpr); check.sh checks on the host that the disk was left clean.
name=1040-disk-root
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }

root=$(awk '$2 == "/" { print $1, $3, substr($4, 1, 2) }' /proc/mounts)
[ "$root" = "/dev/vda ext4 rw" ] || fail "/ is '$root', not /dev/vda ext4 rw"
echo "rs6-test: / is $root"
for m in /proc /sys /dev /dev/pts /run; do
  n=$(awk -v m="$m" '$2 == m' /proc/mounts | wc -l)
  [ "$n" = 1 ] || fail "$m is mounted $n times"
done
[ "$(readlink /proc/1/exe)" = /bin/rs6-svscan ] || fail "process 1 is $(readlink /proc/1/exe)"
[ "$(readlink /sbin/poweroff)" = /bin/rs6-hpr ] || fail "/sbin/poweroff is not rs6-hpr"
[ "$(hostname)" = rs6-disk ] || fail "hostname is $(hostname): rc.init did not read /etc/hostname"
grep -q ' /tmp tmpfs ' /proc/mounts || fail "/tmp (in /etc/fstab) is not mounted"

n=0
until grep -q 'heartbeat 1:' /var/log/heartbeat/current 2>/dev/null; do
  [ $n -ge 100 ] && fail "no heartbeat in /var/log/heartbeat/current after 10 s"
  sleep 0.1
  n=$((n + 1))
done
echo "rs6-test: metric boot_to_ready_ms $(awk '{ printf "%d", $1 * 1000 }' /proc/uptime)"
for s in heartbeat heartbeat/log; do
  st=$(rs6-svstat /run/service/$s)
  case $st in up*) ;; *) fail "$s: $st" ;; esac
  echo "rs6-test: $s: $st"
done
echo "$name" > /var/log/marker
echo "rs6-test: PASS $name"
poweroff
sleep 60
