#!/usr/bin/env bash
# Validates docker-compose.yml with Debian's docker-compose (no engine needed).
set -euo pipefail
if ! command -v docker-compose >/dev/null; then
  echo "Installing Debian's docker-compose to validate docker-compose.yml …" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker-compose >/dev/null
fi
docker-compose -f docker-compose.yml config --quiet
echo "docker-compose.yml is valid" >&2
