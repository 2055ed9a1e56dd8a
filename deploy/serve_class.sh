#!/usr/bin/env bash
# Serve a class: installs Debian's nginx if it is missing (apt-get, once, as root), then runs
# deploy/serve_class.py with the same arguments: N Streamlit workers behind nginx, Ctrl-C stops all.
#   deploy/serve_class.sh --workers 3 --listen 0.0.0.0:8080
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "installing nginx (Debian's package)…"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx >/dev/null
fi
exec python deploy/serve_class.py "$@"
