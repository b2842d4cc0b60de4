#!/usr/bin/env bash
# install-deps.sh APT_PACKAGES... -- PIP_PACKAGES...
# Installs what is missing: Debian packages with apt-get (as root), PyPI packages with pip.
set -euo pipefail
apt=() pip=()
target=apt
for a in "$@"; do
  if [ "$a" = "--" ]; then target=pip; continue; fi
  if [ $target = apt ]; then apt+=("$a"); else pip+=("$a"); fi
done
missing=()
for p in "${apt[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#pip[@]} -gt 0 ]; then
  need=()
  for p in "${pip[@]}"; do
    name=${p%%[=<>]*}
    python3 -m pip show -q "$name" >/dev/null 2>&1 || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing PyPI packages: ${need[*]}"
    python3 -m pip install -q --disable-pip-version-check "${need[@]}"
  fi
fi
