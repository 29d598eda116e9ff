#!/usr/bin/env bash
# Installs the offline datasets that shared-datasets loads without network:
#   - Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/)
#   - the UCI sets shipped in Debian's r-cran-mlbench, unpacked (not installed: no R needed)
#     into $1/debian/ (default: $SHARED_DATASETS_HOME or ./.data)
# Idempotent: a second run only checks.
set -euo pipefail
home="${1:-${SHARED_DATASETS_HOME:-$PWD/.data}}"
mkdir -p "$home/debian"

die() { echo "install-offline-data: $*" >&2; exit 1; }
sudo_() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root or sudo to run: $*"; fi
}
command -v apt-get >/dev/null || die "apt-get not found (not Debian/Ubuntu). Place Fashion-MNIST's four *-ubyte.gz files in $home/fashion-mnist/ and unpack r-cran-mlbench's .deb into $home/debian/mlbench/ by hand."
apt_updated=0
apt_update_once() { [ $apt_updated = 1 ] || { sudo_ apt-get update -qq; apt_updated=1; }; }

if [ ! -d /usr/share/datasets/fashion-mnist ] && [ ! -f "$home/fashion-mnist/train-images-idx3-ubyte.gz" ]; then
  apt_update_once
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null \
    || die "apt-get install dataset-fashion-mnist failed; alternatively place train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz in $home/fashion-mnist/"
fi

mlbench="$home/debian/mlbench"
if [ ! -d "$mlbench/usr/lib/R/site-library/mlbench/data" ]; then
  apt_update_once
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq r-cran-mlbench) || die "apt-get download r-cran-mlbench failed"
  rm -rf "$mlbench.partial" && mkdir -p "$mlbench.partial"
  dpkg -x "$tmp"/r-cran-mlbench_*.deb "$mlbench.partial"
  rm -rf "$mlbench" && mv "$mlbench.partial" "$mlbench"   # atomic: never a half-unpacked tree
  rm -rf "$tmp"
fi

# Check what the loaders need is there.
for f in LetterRecognition Satellite Shuttle DNA Glass Vowel Vehicle; do
  [ -f "$mlbench/usr/lib/R/site-library/mlbench/data/$f.rda" ] || die "$f.rda missing under $mlbench; delete $mlbench and rerun"
done
echo "offline datasets: fashion-mnist in /usr/share/datasets/fashion-mnist, mlbench in $mlbench"
