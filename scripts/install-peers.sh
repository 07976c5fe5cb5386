#!/usr/bin/env bash
# Installs the Debian packages the real-peer tests need (openssh-server for sshd, etcd-server and
# etcd-client for the release's etcd, kubernetes-client for Debian's kubectl, postgresql for the
# state store's PostgreSQL backend, iproute2 and util-linux for the Azure world's network
# namespaces and script(1)). Run as root (CI
# and the dev machines are root); without root and without the packages, it fails in CI and warns
# elsewhere.
#
# Debian's kubectl: when /usr/bin/kubectl already belongs to another package (a cloud SDK's
# `kubectl` ships a file of that name, and dpkg refuses to overwrite it), Debian's package is
# unpacked instead into $DEBIAN_KUBECTL_ROOT (/opt/debian-kubernetes-client), leaving the other
# package alone; the tests look for Debian's binary there first, then at /usr/bin/kubectl when
# dpkg says kubernetes-client owns it.
set -euo pipefail
DEBIAN_KUBECTL_ROOT=${DEBIAN_KUBECTL_ROOT:-/opt/debian-kubernetes-client}
need=()
command -v /usr/sbin/sshd >/dev/null 2>&1 || need+=(openssh-server)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
unpack_kubectl=false
if ! dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null | grep -q 'install ok installed' && [ ! -x "$DEBIAN_KUBECTL_ROOT/usr/bin/kubectl" ]; then
  owner=$(dpkg-query -S /usr/bin/kubectl 2>/dev/null | cut -d: -f1 || true)
  if [ -n "$owner" ] && [ "$owner" != kubernetes-client ]; then unpack_kubectl=true; else need+=(kubernetes-client); fi
fi
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || need+=(iproute2)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
[ "${#need[@]}" -eq 0 ] && [ "$unpack_kubectl" = false ] && exit 0
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  if [ "${#need[@]}" -gt 0 ]; then
    echo "installing Debian packages: ${need[*]}" >&2
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  if [ "$unpack_kubectl" = true ]; then
    echo "unpacking Debian's kubernetes-client into $DEBIAN_KUBECTL_ROOT (/usr/bin/kubectl belongs to package '$owner')" >&2
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq kubernetes-client >/dev/null 2>&1)
    mkdir -p "$DEBIAN_KUBECTL_ROOT"
    dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$DEBIAN_KUBECTL_ROOT"
    rm -rf "$tmp"
  fi
  exit 0
fi
[ "$unpack_kubectl" = true ] && need+=(kubernetes-client)
echo "missing Debian packages: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
[ "${CI:-}" = "true" ] && exit 1
exit 0
