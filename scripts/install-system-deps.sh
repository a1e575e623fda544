#!/usr/bin/env bash
# Debian packages the test suite drives for real (DESIGN §8): BIRD 2, StayRTR, OpenSSH,
# redis-server, iproute2 (network namespaces), Chromium for the browser tests (driven by
# Python Playwright; never `playwright install`), pngquant for their screenshots, and
# Node.js/npm for the web app when missing; and wrk, the load generator of
# bench/api_load.py; bgpq4, which expands members' AS-SETs against an IRR server.
# Installs only what is missing.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have bird || need+=(bird2)
have stayrtr || need+=(stayrtr)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
have ssh-keygen || need+=(openssh-client)
have ip || need+=(iproute2)
have redis-server || need+=(redis-server)
have pg_isready || need+=(postgresql-client)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)  # private servers in tests
[ -x /usr/bin/chromium ] || need+=(chromium)
have pngquant || need+=(pngquant)
have npm || need+=(nodejs npm)
have docker-compose || need+=(docker-compose)   # validates deploy/compose.yaml; no engine
have wrk || need+=(wrk)                         # bench/api_load.py's load generator
have bgpq4 || need+=(bgpq4)                     # IRR AS-SET expansion (issue 15)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing Debian packages: ${need[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
