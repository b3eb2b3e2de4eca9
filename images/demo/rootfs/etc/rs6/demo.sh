#!/bin/sh
# The demo's scripted console program (non-interactive `cargo xtask run`):
# wait until the services settle, print their status, and exit; rs6-init's
# stage 2 then asks process 1 to power off.
echo "demo: process 1 is $(cat /proc/1/comm)"
for d in /run/service/*; do
  n=0
  while [ $n -lt 50 ] && ! rs6-svok "$d"; do sleep 0.1; n=$((n+1)); done
done
sleep 2
for d in /run/service/* /run/service/ticker/log; do
  echo "demo: ${d#/run/service/}: $(rs6-svstat "$d")"
done
echo "demo: last ticks: $(tail -n 2 /run/log/ticker/current | tr '\n' ' ')"
echo "demo: done, powering off"
