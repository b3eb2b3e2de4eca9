#!/bin/sh
# Default script of the minimal image (rs6.script=/etc/rs6/minimal.sh): says hello and
# exits, and rs6-init powers the machine off.
echo "rs6: minimal image up"
uname -r
