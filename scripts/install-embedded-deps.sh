#!/usr/bin/env bash
# The embedded route server of `make run` (routeservers.embedded): BIRD 2 and StayRTR,
# installed from Debian when missing and this runs as root. Anywhere else it says so in one
# line and succeeds: `ztix serve` then runs without a route server.
set -uo pipefail

need=()
[ -x /usr/sbin/bird ] || need+=(bird2)
[ -x /usr/bin/stayrtr ] || need+=(stayrtr)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: ${need[*]} not installed (needs root and apt-get): make run starts without the embedded route server" >&2
  exit 0
fi
echo "installing for the embedded route server: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }; then
  echo "note: could not install ${need[*]}: make run starts without the embedded route server" >&2
fi
exit 0
