#!/usr/bin/env bash
# The README's first command: install, build, and run the main job on the embedded local CPI —
# an environment whose VMs are processes on this machine, and the CFCR-like cluster deployed on it.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci
bash scripts/install-peers.sh
npm run --silent build

director() { node bin/director.js "$@"; }
director create-env manifests/env.yml
director upload-release release
director deploy -d my-cluster manifests/cfcr.yml -o ops-files/local.yml -n
director vms
cat <<'MSG'

The cluster runs. Try:
  node bin/director.js instances -d my-cluster --ps
  node bin/director.js deploy -d my-cluster manifests/cfcr.yml -o ops-files/local.yml -o ops-files/worker_count.yml -v worker_count=4 -n
  node bin/director.js delete-deployment -d my-cluster -n && node bin/director.js delete-env -n
MSG
