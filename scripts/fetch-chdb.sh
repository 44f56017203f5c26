#!/usr/bin/env bash
# Fetches the pinned libchdb.so (ClickHouse as a shared library, from the npm
# registry), verifies its checksum, caches it under ~/.cache/tracehound and
# links it to lib/libchdb.so, where bin/tracehound looks for it.
set -euo pipefail

version="${CHDB_VERSION:-26.7.3-stable.1}"
sha256="${CHDB_SHA256:-36ad4e999882821ef13cf2d0f52c93f48e6ee1b4498b35a201c23ce4b8d15bf5}"
cache="${TRACEHOUND_CACHE:-$HOME/.cache/tracehound}/chdb-$version"
target="${1:-lib/libchdb.so}"

verify() { echo "$sha256  $1" | sha256sum --check --status; }

if [ ! -f "$cache/libchdb.so" ] || ! verify "$cache/libchdb.so"; then
  command -v npm >/dev/null || { echo "npm is needed to fetch libchdb (apt-get install npm)" >&2; exit 1; }
  echo "Fetching libchdb $version (about 180 MB) from the npm registry …" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@chdb/lib-linux-x64-gnu@$version" >/dev/null)
  tar -xzf "$tmp"/chdb-lib-linux-x64-gnu-*.tgz -C "$tmp" package/libchdb.so
  if ! verify "$tmp/package/libchdb.so"; then
    echo "libchdb.so checksum mismatch: expected $sha256, got $(sha256sum "$tmp/package/libchdb.so" | cut -d' ' -f1)" >&2
    exit 1
  fi
  mkdir -p "$cache"
  mv "$tmp/package/libchdb.so" "$cache/libchdb.so.partial"
  mv "$cache/libchdb.so.partial" "$cache/libchdb.so"
fi
mkdir -p "$(dirname "$target")"
ln -sfn "$cache/libchdb.so" "$target"
echo "libchdb $version ready at $target -> $cache/libchdb.so" >&2
