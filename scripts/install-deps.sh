#!/usr/bin/env bash
# install-deps.sh APT_PACKAGES... -- PIP_PACKAGES...
# Installs what is missing: Debian packages with apt-get (as root), PyPI packages with pip into the
# project's virtual environment .venv, made with Debian's own /usr/bin/python3 (which refuses
# `pip install` outside a virtual environment, PEP 668). The environment sees Debian's Python
# packages too (--system-site-packages: python3-gps). The Makefile puts .venv/bin first on PATH.
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
  root="$(cd "$(dirname "$0")/.." && pwd)"
  venv="${NAUTILUS_VENV:-$root/.venv}"
  base=/usr/bin/python3
  [ -x "$base" ] || { echo "install-deps: $base (Debian's python3) missing: apt-get install python3 python3-venv" >&2; exit 1; }
  if [ ! -x "$venv/bin/python3" ]; then
    echo "creating the project's Python environment $venv (from $base)"
    "$base" -m venv --system-site-packages "$venv"
  fi
  py="$venv/bin/python3"
  need=()
  for p in "${pip[@]}"; do
    name=${p%%[=<>]*}
    "$py" -m pip show -q "$name" >/dev/null 2>&1 || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing PyPI packages into $venv: ${need[*]}"
    # pesq's setup imports numpy and Cython: they go in first, and pesq builds against them.
    build_first=()
    for p in "${need[@]}"; do case "${p%%[=<>]*}" in numpy|cython|Cython) build_first+=("$p");; esac; done
    [ ${#build_first[@]} -eq 0 ] || "$py" -m pip install -q --disable-pip-version-check "${build_first[@]}"
    "$py" -m pip install -q --disable-pip-version-check --no-build-isolation "${need[@]}"
  fi
fi
