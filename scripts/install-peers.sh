#!/usr/bin/env bash
# Installs the Debian packages the real-peer tests need (openssh-server for sshd, etcd-server and
# etcd-client for the release's etcd). Run as root (CI and the dev machines are root); without
# root and without the packages, it fails in CI and warns elsewhere.
set -euo pipefail
need=()
command -v /usr/sbin/sshd >/dev/null 2>&1 || need+=(openssh-server)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  exit 0
fi
echo "missing Debian packages: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
[ "${CI:-}" = "true" ] && exit 1
exit 0
