#!/usr/bin/env bash
# Capture real outputs of GPU tools on a machine with NVIDIA GPUs, for test fixtures.
# Usage: bash scripts/capture_gpu_outputs.sh OUTDIR
# Writes one file per command (verbatim stdout; stderr and exit code in <name>.meta) and a MANIFEST
# naming the machine, date and driver, then OUTDIR.tar.gz. Read-only: changes no GPU setting.
set -u
out=${1:?usage: capture_gpu_outputs.sh OUTDIR}
mkdir -p "$out"
cap() {  # cap NAME CMD...
  local name=$1; shift
  local t0 t1 rc
  t0=$(date +%s.%N)
  "$@" >"$out/$name.txt" 2>"$out/$name.stderr"; rc=$?
  t1=$(date +%s.%N)
  printf 'command: %s\nexit_code: %s\nseconds: %s\n' "$*" "$rc" "$(echo "$t1 - $t0" | bc 2>/dev/null || echo ?)" >"$out/$name.meta"
}
{
  echo "captured_at: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "hostname: $(hostname)"
  echo "kernel: $(uname -r)"
  echo "machine: $(uname -m)"
  grep -m1 PRETTY_NAME /etc/os-release 2>/dev/null
} >"$out/MANIFEST"
cap nvidia-smi nvidia-smi
cap nvidia-smi-q nvidia-smi -q
cap nvidia-smi-L nvidia-smi -L
cap nvidia-smi-query-csv nvidia-smi --query-gpu=index,name,pci.bus_id,persistence_mode,pstate,temperature.gpu,power.draw,power.limit,memory.used,memory.total,utilization.gpu,ecc.errors.uncorrected.volatile.total --format=csv
cap nvidia-smi-query-csv-noheader-nounits nvidia-smi --query-gpu=index,name,pci.bus_id,persistence_mode,pstate,temperature.gpu,power.draw,power.limit,memory.used,memory.total,utilization.gpu,ecc.errors.uncorrected.volatile.total --format=csv,noheader,nounits
cap nvidia-smi-topo-m nvidia-smi topo -m
cap nvidia-smi-nvlink-s nvidia-smi nvlink -s
cap nvidia-smi-q-performance nvidia-smi -q -d PERFORMANCE
cap nvidia-smi-q-ecc nvidia-smi -q -d ECC,ROW_REMAPPER,PAGE_RETIREMENT
cap proc-driver-version cat /proc/driver/nvidia/version
cap dmesg dmesg
cap journalctl-k journalctl -k --no-pager -o short-iso
cap lsmod lsmod
cap ibstat ibstat
cap ibv_devinfo ibv_devinfo
cap dcgmi-version dcgmi --version
cap which-tools sh -c 'for t in nvidia-smi dcgmi all_reduce_perf mpirun srun torchrun ibstat python3; do printf "%s: %s\n" "$t" "$(command -v $t || echo missing)"; done'
cap torch-info python3 -c 'import torch, sys; print("python", sys.version.split()[0]); print("torch", torch.__version__); print("cuda", torch.version.cuda); print("nccl", ".".join(map(str, torch.cuda.nccl.version()))); print("gpus", torch.cuda.device_count()); print("name", torch.cuda.get_device_name(0))'
tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
echo "captured into $out.tar.gz"; ls "$out" | wc -l
