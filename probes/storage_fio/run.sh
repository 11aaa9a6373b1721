# storage_fio: runs once, on the login node (or the single target), and launches through the scheduler.
# fio seqwrite (1 MiB), seqread (1 MiB, the data just written) and randread (4 KiB) on each shared
# filesystem and on node-local NVMe, on 1 ... N nodes at once (srun -N<n> --ntasks-per-node=1 -l: one fio
# worker per node, output demultiplexed by task id), bounded: runtime_s per test, size_mib per node,
# budget_s for the whole probe. Every worker works in a directory of its own and removes it on exit.
# Sections (read by clustermax.probes.storage_fio):
#   plan              key=value lines: platform, tag, targets, gpus_per_node, nodes_available, node_counts,
#                     skipped (why nothing ran)
#   mounts            /proc/self/mountinfo of a compute node (targets and their filesystem types)
#   sinfo             sinfo -h -N -o '%N|%G|%t' (Slurm: nodes, GRES, state)
#   run-<id>-n<N>-meta  key=value lines of one run: target, kind (shared|local), nodes, params, command
#   run-<id>-n<N>     the workers' output (srun -l: "<task>: " before every line); rc 124/137: cut
#   skip-<id>-n<N>    why that run did not happen (budget, too few nodes)
#   leftover          test directories of this run still present afterwards (empty: clean)
set -o pipefail 2>/dev/null || true
# How a run stops early (the probe's timeout, Ctrl-C, a dropped connection): every step runs through
# cmx_bg, in a session of its own, waited for in the background. The signal then reaches this shell at
# once (a foreground child would delay the exit hook until it ended) and not srun, which would answer a
# TERM by SIGKILLing the workers before they can remove their directories. The exit hook sends the
# workers TERM (scancel -s TERM: they stop fio and clean up), waits for the queue to drain, then cancels.
P_TARGETS=${CMX_PARAM_TARGETS:-}
P_LOCAL=${CMX_PARAM_LOCAL_TARGETS:-}
P_MAXT=${CMX_PARAM_MAX_TARGETS:-2}
P_COUNTS=${CMX_PARAM_NODE_COUNTS:-1 max}
P_RT=${CMX_PARAM_RUNTIME_S:-3}
P_SIZE=${CMX_PARAM_SIZE_MIB:-1024}
P_JOBS=${CMX_PARAM_NUMJOBS:-4}
P_QD=${CMX_PARAM_IODEPTH:-16}
P_RQD=${CMX_PARAM_RAND_IODEPTH:-32}
P_ENGINE=${CMX_PARAM_IOENGINE:-libaio}
P_DIRECT=${CMX_PARAM_DIRECT:-1}
P_BUDGET=${CMX_PARAM_BUDGET_S:-40}
P_PART=${CMX_PARAM_PARTITION:-}
platform=${CMX_PLATFORM:-bare}
for v in "$P_MAXT" "$P_RT" "$P_SIZE" "$P_JOBS" "$P_QD" "$P_RQD" "$P_BUDGET"; do
  case $v in '' | *[!0-9]*) cmx_text error "a numeric parameter is not a whole number: '$v'"; exit 2 ;; esac
done
case $P_DIRECT in 0 | 1) ;; *) cmx_text error "direct must be true or false"; exit 2 ;; esac
case $P_ENGINE in '' | *[!a-z0-9_]*) cmx_text error "ioengine must be a fio engine name (libaio, psync, io_uring)"; exit 2 ;; esac
if [ "$P_JOBS" -lt 1 ] || [ "$P_RT" -lt 1 ]; then cmx_text error "numjobs and runtime_s must be at least 1"; exit 2; fi
for t in $P_TARGETS $P_LOCAL; do
  case $t in /*) ;; *) cmx_text error "targets must be absolute paths (got '$t')"; exit 2 ;; esac
done
TAG="cmx$$r${RANDOM}t$(date +%s)"
JOB="clustermax-fio-$TAG"
T0=$(date +%s)
PLAN="platform=$platform
tag=$TAG
"
plan() { PLAN="$PLAN$1
"; }
elapsed() { echo $(($(date +%s) - T0)); }
cmx_stop_steps() {
  local i
  [ -n "$CMX_BG" ] || [ "$platform" = slurm ] || return 0
  if [ "$platform" = slurm ]; then
    scancel --signal=TERM --name="$JOB" --user="$ME" 2>/dev/null
    for i in $(seq 1 32); do
      [ -z "$(squeue -h -n "$JOB" -u "$ME" -o %i 2>/dev/null)" ] && break
      sleep 0.25
    done
    scancel --name="$JOB" --user="$ME" 2>/dev/null
  fi
  # srun itself is left alone: a TERM would make it SIGKILL the tasks; the supervisor ends it afterwards
  return 0
}
WORKER=$(cat "$CMX_FILES/fio_worker.sh")
ME=$(id -un)
# a worker removes its own directory on every exit; this hook removes what a killed one left on the shared
# targets this host sees too (only names carrying this run's unique tag)
cmx_fio_cleanup() {
  local t
  cmx_stop_steps  # the workers stop and remove their own directories first
  for t in $tried; do rm -rf "$t"/.cmx-fio."$TAG".* "$t/$ME"/.cmx-fio."$TAG".* 2>/dev/null; done
  return 0
}
tried=""

if [ "$platform" = kubernetes ]; then
  plan "skipped=kubernetes: storage_fio runs through Slurm or on a bare host; on Kubernetes see the kubernetes probe's StorageClasses"
  plan "skip_kind=not-applicable"
  cmx_text plan "$PLAN"
  exit 0
fi

# SHARED_TYPES of clustermax.parsers.mounts (a test checks that both lists agree)
SHARED_TYPES="nfs nfs4 lustre wekafs gpfs beegfs ceph fuse.ceph-fuse fuse.cephfs glusterfs fuse.glusterfs cifs smb3 virtiofs fuse.sshfs fuse.juicefs fuse.weka panfs ocfs2 gfs2 afs fuse.lustre fuse.vast"
# shared targets: mount points of a shared type (one per source), local: NVMe block devices other than /
cmx_pick() { # KIND MOUNTINFO-FILE
  awk -v kind="$1" -v types=" $SHARED_TYPES " '
    { n = split($0, halves, " - "); if (n < 2) next
      split(halves[1], a, " "); split(halves[2], b, " ")
      t = a[5]; fs = b[1]; src = b[2]
      if (t ~ /^\/(proc|sys|dev|run)(\/|$)/) next
      if (kind == "shared" && index(types, " " fs " ") && !(src in seen)) { seen[src] = 1; print t }
      if (kind == "local" && src ~ /^\/dev\/nvme/ && t != "/" && t !~ /^\/boot/ && !(src in seen)) { seen[src] = 1; print t }
    }' "$2"
}

part_args=()
[ -n "$P_PART" ] && part_args=(--partition="$P_PART")
if [ "$platform" = slurm ]; then
  if ! cmx_have srun || ! cmx_have sinfo; then
    plan "skipped=srun/sinfo not found on the login node"
    cmx_text plan "$PLAN"
    exit 0
  fi
  cmx_sinfo() { sinfo -h -N "${part_args[@]}" -o '%N|%G|%t' | tee "$CMX_TMP/sinfo"; }
  cmx_section sinfo cmx_sinfo
  avail=$(awk -F'|' '$3 ~ /^(idle|mix)/ { print $1 }' "$CMX_TMP/sinfo" 2>/dev/null | sort -u | grep -c .)
  gpn=$(awk -F'|' '$3 ~ /^(idle|mix)/ && $2 ~ /gpu/ { n=$2; sub(/.*gpu(:[^:(,]*)?:/, "", n); sub(/[^0-9].*/, "", n); print n+0 }' \
    "$CMX_TMP/sinfo" 2>/dev/null | sort -n | head -n 1)
  STEP=(srun --job-name="$JOB" --immediate=60 -t "$(((3 * (P_RT + 60) + 120) / 60))" "${part_args[@]}")
  cmx_mounts() { cmx_bg timeout --foreground -k 5 90 "${STEP[@]}" -N1 -n1 cat /proc/self/mountinfo | tee "$CMX_TMP/mounts"; }
else
  avail=1
  gpn=""
  if cmx_have nvidia-smi; then gpn=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true); fi
  cmx_mounts() { tee "$CMX_TMP/mounts" </proc/self/mountinfo; }
fi
cmx_add_cleanup cmx_fio_cleanup
cmx_section mounts cmx_mounts
plan "nodes_available=$avail"
plan "gpus_per_node=${gpn:-}"
if [ -n "$P_TARGETS" ]; then shared=$P_TARGETS; else shared=$(cmx_pick shared "$CMX_TMP/mounts" | head -n "$P_MAXT"); fi
if [ -n "$P_LOCAL" ]; then local_t=$P_LOCAL; else local_t=$(cmx_pick local "$CMX_TMP/mounts" | head -n 1); fi
plan "shared_targets=$(echo $shared)"
plan "local_targets=$(echo $local_t)"
if [ -z "$shared$local_t" ]; then
  plan "skipped=no shared filesystem and no local NVMe mount found on the node (set targets / local_targets)"
  plan "skip_kind=no-target"
  cmx_text plan "$PLAN"
  exit 0
fi
if [ "${avail:-0}" -lt 1 ]; then
  plan "skipped=no idle or mixed node in the partition"
  cmx_text plan "$PLAN"
  exit 0
fi
counts=""
for c in $P_COUNTS; do
  case $c in max) c=$avail ;; '' | *[!0-9]*) continue ;; esac
  [ "$c" -ge 1 ] || continue
  case " $counts " in *" $c "*) ;; *) counts="$counts $c" ;; esac
done
counts=$(printf '%s\n' $counts | sort -n | tr '\n' ' ')
plan "node_counts=$counts"
est=$((3 * (P_RT + 1) + 3))
cmx_run() { # ID KIND TARGET NODES
  local id=$1 kind=$2 target=$3 n=$4 name="run-$1-n$4" cmd
  if [ "$n" -gt "$avail" ]; then
    cmx_text "skip-$id-n$n" "only $avail usable node(s)"
    return 0
  fi
  if [ $(($(elapsed) + est)) -gt "$P_BUDGET" ]; then
    cmx_text "skip-$id-n$n" "budget: $(elapsed) s used of budget_s=$P_BUDGET, a run takes about $est s"
    return 0
  fi
  if [ "$platform" = slurm ]; then
    cmd=("${STEP[@]}" -N "$n" --ntasks-per-node=1 -l bash -c "$WORKER" cmx-fio)
  else
    cmd=(bash -c "$WORKER" cmx-fio)
  fi
  cmx_text "$name-meta" "target=$target
kind=$kind
nodes=$n
runtime_s=$P_RT
size_mib=$P_SIZE
numjobs=$P_JOBS
iodepth=$P_QD
rand_iodepth=$P_RQD
ioengine=$P_ENGINE
direct=$P_DIRECT
launcher=${cmd[0]}"
  tried="$tried $target"
  cmx_section "$name" cmx_bg timeout --foreground -k 10 $((3 * (P_RT + 60) + 60)) "${cmd[@]}" \
    "$TAG" "$target" "$P_RT" "$P_SIZE" "$P_JOBS" "$P_QD" "$P_RQD" "$P_ENGINE" "$P_DIRECT" </dev/null
}
i=0
for t in $shared; do
  i=$((i + 1))
  for n in $counts; do cmx_run "s$i" shared "$t" "$n"; done
done
i=0
max=$(printf '%s\n' $counts | tail -n 1)
for t in $local_t; do
  i=$((i + 1))
  cmx_run "l$i" local "$t" "${max:-1}"
done
# nothing of this run may be left: list what a worker could not remove
cmx_leftover() {
  local t
  for t in $tried; do ls -d "$t"/.cmx-fio."$TAG".* "$t/$ME"/.cmx-fio."$TAG".* 2>/dev/null; done
  return 0
}
if [ -n "$tried" ]; then
  if [ "$platform" = slurm ]; then
    cmx_leftover_srun() {
      cmx_bg timeout --foreground -k 5 60 "${STEP[@]}" -N "${max:-1}" --ntasks-per-node=1 bash -c \
        'tag=$1 me=$2; shift 2; for t in "$@"; do ls -d "$t"/.cmx-fio."$tag".* "$t/$me"/.cmx-fio."$tag".* 2>/dev/null; done; exit 0' \
        cmx "$TAG" "$ME" $tried
    }
    cmx_section leftover cmx_leftover_srun
  else
    cmx_section leftover cmx_leftover
  fi
fi
cmx_text plan "$PLAN"
exit 0
