#!/bin/sh
# 1550-shutdown-messages: once both services are up, exit (rs6-init powers off). The expect
# lines are what must reach the console while the machine goes down: svc's finish output
# and rs6-shutdown's own messages after the grace time.
name=1550-shutdown-messages
fail() { echo "rs6-test: FAIL $name: $*"; exit 1; }
for s in svc stubborn; do
  i=0
  until [ "$(rs6-svstat -o up /run/service/$s 2>/dev/null)" = true ]; do
    [ $i -ge 100 ] && fail "$s not up after 10 s"
    sleep 0.1
    i=$((i + 1))
  done
done
sleep 0.5
echo "rs6-test: PASS $name"
