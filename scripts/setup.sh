#!/usr/bin/env bash
# Installs the Debian packages Weft needs (when any is missing) and
# configures the build in build/. Run as root on Debian 12. Extra packages
# may be named as arguments (the main job adds `fortunes`, the text it
# trains on).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config git ccache antlr4
  libantlr4-runtime-dev uuid-dev llvm-19-dev libzstd-dev clang-19 lld-19
  libfmt-dev libgtest-dev libgmock-dev libopenblas-dev libcli11-dev
  nlohmann-json3-dev libzip-dev zlib1g-dev libplplot-dev plplot-driver-cairo "$@")
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
    grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
