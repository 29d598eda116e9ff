#!/usr/bin/env bash
# Installs the offline datasets that shared-datasets loads without network:
#   - Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/)
#   - the UCI sets shipped in Debian's r-cran-mlbench, unpacked (not installed: no R needed)
#     into $1/debian/ (default: $SHARED_DATASETS_HOME or ./.data)
# Idempotent: a second run only checks.
set -euo pipefail
home="${1:-${SHARED_DATASETS_HOME:-$PWD/.data}}"
mkdir -p "$home/debian"

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_update_once() { [ $apt_updated = 1 ] || { sudo_ apt-get update -qq; apt_updated=1; }; }

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  apt_update_once
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null
fi

mlbench="$home/debian/mlbench"
if [ ! -d "$mlbench/usr/lib/R/site-library/mlbench/data" ]; then
  apt_update_once
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq r-cran-mlbench)
  rm -rf "$mlbench.partial" && mkdir -p "$mlbench.partial"
  dpkg -x "$tmp"/r-cran-mlbench_*.deb "$mlbench.partial"
  rm -rf "$mlbench" && mv "$mlbench.partial" "$mlbench"   # atomic: never a half-unpacked tree
  rm -rf "$tmp"
fi
echo "offline datasets: fashion-mnist in /usr/share/datasets/fashion-mnist, mlbench in $mlbench"
