#!/bin/sh
# Makes rs6 process 1 of the target tree $1 (Buildroot passes TARGET_DIR): the links
# `cargo xtask install --init` makes, and busybox init's /etc/inittab removed.
# BR2_PACKAGE_RS6_INIT runs it when the target is finalized; it also works as a
# BR2_ROOTFS_POST_BUILD_SCRIPT.
set -eu
t=${1:?usage: post-build.sh TARGET_DIR}
[ -x "$t/bin/rs6-init" ] || { echo "post-build.sh: no $t/bin/rs6-init (BR2_PACKAGE_RS6)" >&2; exit 1; }
mkdir -p "$t/sbin"
ln -sfn /bin/rs6-init "$t/sbin/init"
for l in halt poweroff reboot; do
	ln -sfn /bin/rs6-hpr "$t/sbin/$l"
done
rm -f "$t/etc/inittab"
