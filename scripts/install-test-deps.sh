#!/usr/bin/env bash
# Install what the test suite needs, through apt, only when missing:
# OpenSSH server, Slurm (slurmctld, slurmd, client commands) with munge, Chromium (HTML report tests),
# kubectl (Kubernetes probe tests against a fake API server), iproute2/util-linux (network namespaces),
# PostgreSQL (the history database tests run a real server in a temporary directory).
# fio (storage probe tests), sshfs + fuse3 (the shared filesystem between the test cluster's nodes),
# the AWS CLI (the object-storage probe's client).
# Nothing is started here: the tests start and stop every daemon they need, by PID.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
have /usr/sbin/sshd || need+=(openssh-server)
have ssh || need+=(openssh-client)
have slurmctld || need+=(slurm-wlm)
have munged || need+=(munge)
have chromium || need+=(chromium)
have kubectl || need+=(kubernetes-client)
have ip || need+=(iproute2)
have nsenter || need+=(util-linux)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
have fio || need+=(fio)
have sshfs || need+=(sshfs)
have fusermount3 || need+=(fuse3)
have aws || need+=(awscli)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-test-deps: missing ${need[*]}; run as root (or install them) first" >&2
    exit 1
  fi
  echo "install-test-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
mkdir -p /run/sshd 2>/dev/null || true
