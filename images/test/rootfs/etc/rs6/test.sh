#!/bin/sh
# Default script of the test image (`cargo xtask run test` without a terminal): mounts
# /dev/vda if QEMU has one, says what it sees, and exits; rs6-init powers off.
echo "rs6: test image up"
if /etc/rs6/mount-disk /dev/vda /mnt/disk 2>/dev/null; then
  echo "rs6: /dev/vda mounted on /mnt/disk: $(ls /mnt/disk | tr '\n' ' ')"
else
  echo "rs6: no disk"
fi
