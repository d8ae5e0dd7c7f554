#!/usr/bin/env bash
# Sourced by scripts/test.sh and bench/run.sh: install_missing "command:package" ... installs, with apt-get, the
# Debian packages whose command the machine lacks (a path works as the command too).
install_missing() {
  local entry missing=() sudo=""
  for entry in "$@"; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
  done
  ((${#missing[@]})) || return 0
  echo "Installing ${missing[*]} ..." >&2
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
