# nccl_allreduce: runs once, on the login node (or the single target), and launches through the scheduler.
# Sections (read by clustermax.probes.nccl_allreduce):
#   plan                 key=value lines: platform, launcher, impl, binary, gpus_per_node, nodes_available,
#                        node_counts, mpi, image, skipped reasons
#   nccl-env             NCCL_* variables of the launching environment (before clustermax sets any)
#   nccl-conf            /etc/nccl.conf and ~/.nccl.conf as found on the launching host
#   sinfo                sinfo -h -N -o '%N|%G|%t' (Slurm: GPU nodes and their GRES)
#   srun-mpi             srun --mpi=list (Slurm: which MPI plugins exist)
#   discover             what one compute node has (Slurm: one srun step): binary, torch, NCCL env, nccl.conf
#   run-n<N>-r<R>-meta   key=value lines of one run: impl, nodes, ranks, gpus_per_node, launcher, command
#   run-n<N>-r<R>        the run's output (rank 0 only); rc=124/137: cut by run_timeout_s (hung)
#   skip-n<N>            why node count N was not run
# Kubernetes only (launcher=mpijob): kubectl-version, mpi-operator (GET /apis/kubeflow.org/v2beta1),
#   gpu-nodes (name, allocatable nvidia.com/gpu, unschedulable), run-id, create-n<N>-r<R> (kubectl create),
#   pods-n<N>-r<R> (the run's pods), leftover (objects of this probe still there at the end: empty = clean);
#   plan skip_code=no-mpi-operator when the MPI Operator is missing
set -o pipefail 2>/dev/null || true
P_COLL=${CMX_PARAM_COLLECTIVE:-all_reduce}
P_MIN=${CMX_PARAM_MIN_BYTES:-16M}
P_MAX=${CMX_PARAM_MAX_BYTES:-8G}
P_STEP=${CMX_PARAM_STEP_FACTOR:-2}
P_ITERS=${CMX_PARAM_ITERS:-20}
P_WARM=${CMX_PARAM_WARMUP_ITERS:-5}
P_REPS=${CMX_PARAM_REPETITIONS:-3}
P_NODES=${CMX_PARAM_NODE_COUNTS:-1 2 4}
P_GPN=${CMX_PARAM_GPUS_PER_NODE:-}
P_PATH=${CMX_PARAM_NCCL_TESTS_PATH:-}
P_IMAGE=${CMX_PARAM_CONTAINER_IMAGE:-}
P_RUN_TIMEOUT=${CMX_PARAM_RUN_TIMEOUT_S:-600}
P_BUDGET=${CMX_PARAM_BUDGET_S:-1700}
P_MPI=${CMX_PARAM_SRUN_MPI:-}
P_PARTITION=${CMX_PARAM_PARTITION:-}
platform=${CMX_PLATFORM:-bare}
for v in "$P_STEP" "$P_ITERS" "$P_WARM" "$P_REPS" "$P_RUN_TIMEOUT" "$P_BUDGET"; do
  case $v in '' | *[!0-9]*) cmx_text error "a numeric parameter is not a whole number: '$v'"; exit 2 ;; esac
done
case $P_COLL in
  all_reduce | all_gather | reduce_scatter | alltoall) ;;
  *) cmx_text error "collective must be all_reduce, all_gather, reduce_scatter or alltoall (got '$P_COLL')"; exit 2 ;;
esac
case "$P_MIN$P_MAX" in *[!0-9KMGTkmgt]*) cmx_text error "min_bytes/max_bytes must look like 16M or 8G"; exit 2 ;; esac
BIN="${P_COLL}_perf"
JOB="clustermax-nccl-$$"
T0=$(date +%s)
PLAN=""
plan() { PLAN="$PLAN$1
"; }
plan "platform=$platform"
plan "collective=$P_COLL"

cmx_text nccl-env "$(env | grep '^NCCL_' | sort)"
cmx_nccl_conf() {
  local f
  for f in /etc/nccl.conf "$HOME/.nccl.conf"; do
    [ -r "$f" ] && { printf '# %s\n' "$f"; cat "$f"; }
  done
  return 0
}
cmx_section nccl-conf cmx_nccl_conf

# The torch fallback benchmark: probes/nccl_allreduce/torch_allreduce.py, sent along with this script
# (probe.yaml `files`) and written to $CMX_FILES by the engine.
cmx_torch_bench() { cat "$CMX_FILES/torch_allreduce.py"; }

# Where is nccl-tests? Prints the path of the binary, or nothing.
cmx_find_bin() {
  local d
  if [ -n "$P_PATH" ] && [ -x "$P_PATH/$BIN" ]; then echo "$P_PATH/$BIN"; return 0; fi
  if command -v "$BIN" >/dev/null 2>&1; then command -v "$BIN"; return 0; fi
  for d in /opt/nccl-tests/build /opt/nccl_tests/build /usr/local/nccl-tests/build /usr/local/bin \
    "$HOME/nccl-tests/build" /opt/hpcx/nccl-tests/build; do
    [ -x "$d/$BIN" ] && { echo "$d/$BIN"; return 0; }
  done
  return 0
}
elapsed() { echo $(($(date +%s) - T0)); }

# ---------------------------------------------------------------------------------------------------
# Kubernetes: one MPIJob (kubeflow.org/v2beta1, the MPI Operator) per run; the launcher's log is the run's
# output. Every object carries the label clustermax-run=<unique id>; an exit hook deletes them (normal end,
# failure, timeout, Ctrl-C), runPolicy.activeDeadlineSeconds/ttlSecondsAfterFinished let the cluster remove
# them even if the hook cannot run, and the namespace is listed again at the end (section leftover).
# ---------------------------------------------------------------------------------------------------
if [ "$platform" = kubernetes ]; then
  plan "launcher=mpijob"
  if [ -n "${CMX_PARAM_KUBECONFIG:-}" ]; then export KUBECONFIG="$CMX_PARAM_KUBECONFIG"; fi
  KC=(kubectl --request-timeout=20s --cache-dir "$CMX_TMP/kube-cache")
  if [ -n "${CMX_PARAM_CONTEXT:-}" ]; then KC+=(--context "$CMX_PARAM_CONTEXT"); fi
  NS=${CMX_PARAM_NAMESPACE:-default}
  POLL=${CMX_PARAM_POLL_INTERVAL_S:-2}
  IMAGE=${P_IMAGE:-ghcr.io/coreweave/nccl-tests:12.4.1-devel-ubuntu22.04-nccl2.27.5-1-0120901}
  plan "image=$IMAGE"
  plan "namespace=$NS"
  if ! cmx_have kubectl; then
    plan "skipped=kubernetes: kubectl is missing on this host (install it, or run the audit where it is)"
    cmx_text plan "$PLAN"
    exit 0
  fi
  if ! cmx_section kubectl-version "${KC[@]}" version -o json; then
    plan "skipped=kubernetes: kubectl cannot reach the API server (see section kubectl-version)"
    cmx_text plan "$PLAN"
    exit 0
  fi
  # the MPI Operator (v2) serves MPIJob in kubeflow.org/v2beta1; the training operator's kubeflow.org/v1 MPIJob
  # has another schema
  cmx_mpi_api() { "${KC[@]}" get --raw /apis/kubeflow.org/v2beta1 | tee "$CMX_TMP/mpi-api"; }
  cmx_section mpi-operator cmx_mpi_api
  if ! grep -Eq '"name": ?"mpijobs"' "$CMX_TMP/mpi-api" 2>/dev/null; then
    plan "skip_code=no-mpi-operator"
    plan "skipped=kubernetes: the MPI Operator is not installed (no mpijobs in kubeflow.org/v2beta1), so nccl-tests cannot be launched as an MPIJob"
    cmx_text plan "$PLAN"
    exit 0
  fi
  cmx_gpu_nodes() {
    "${KC[@]}" get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.allocatable.nvidia\.com/gpu}{"\t"}{.spec.unschedulable}{"\n"}{end}' |
      tee "$CMX_TMP/gpu-nodes"
  }
  cmx_section gpu-nodes cmx_gpu_nodes
  gpn_seen=$(awk -F'\t' '$2+0 > 0 && $3 != "true" { print $1, $2+0 }' "$CMX_TMP/gpu-nodes" 2>/dev/null)
  avail=$(printf '%s\n' "$gpn_seen" | grep -c . || true)
  gmin=$(printf '%s\n' "$gpn_seen" | awk 'NF==2 {print $2}' | sort -n | head -1)
  gpn=${P_GPN:-$gmin}
  plan "nodes_available=$avail"
  plan "gpus_per_node=${gpn:-}"
  plan "impl=nccl-tests"
  plan "binary=${P_PATH:+$P_PATH/}$BIN"
  if [ -z "${gpn:-}" ]; then
    plan "skipped=kubernetes: no schedulable node with allocatable nvidia.com/gpu"
    cmx_text plan "$PLAN"
    exit 0
  fi
  RUN_ID="cmx-nccl-$(date +%s)-$$-${RANDOM}"
  cmx_text run-id "run_id=$RUN_ID namespace=$NS"
  # The exit hook deletes the run's MPIJobs and pods (owned objects also go with their MPIJob).
  cmx_add_cleanup 'cmx_kube_cleanup mpijobs.kubeflow.org,pods "$NS" "clustermax-run=$RUN_ID"'
  jstr() {
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    printf '"%s"' "$s"
  }
  # runs in the launcher: find the binary in the image, then mpirun one rank per GPU over the workers
  launch='b=$1; name=$2; np=$3; shift 3
if [ -z "$b" ]; then
  b=$(command -v "$name" || true)
  for d in /opt/nccl_tests/build /opt/nccl-tests/build /usr/local/nccl-tests/build; do
    if [ -z "$b" ] && [ -x "$d/$name" ]; then b=$d/$name; fi
  done
fi
if [ -z "$b" ]; then echo "clustermax: $name not found in the image (set nccl_tests_path)" >&2; exit 127; fi
exec mpirun -np "$np" -bind-to none -x NCCL_DEBUG=VERSION -x LD_LIBRARY_PATH -x PATH "$b" "$@"'
  deadline=$((P_RUN_TIMEOUT + 300))
  for n in $P_NODES; do
    if [ "$n" -gt "$avail" ]; then
      cmx_text "skip-n$n" "only $avail schedulable GPU node(s)"
      continue
    fi
    for r in $(seq 1 "$P_REPS"); do
      if [ $(($(elapsed) + P_RUN_TIMEOUT)) -gt "$P_BUDGET" ]; then
        cmx_text "skip-n$n-r$r" "budget: $(elapsed) s used of budget_s=$P_BUDGET, a run may take run_timeout_s=$P_RUN_TIMEOUT"
        continue
      fi
      name="$RUN_ID-n$n-r$r"
      ranks=$((n * gpn))
      args=(-b "$P_MIN" -e "$P_MAX" -f "$P_STEP" -n "$P_ITERS" -w "$P_WARM" -g 1 -c 1)
      largs=""
      for a in "$P_PATH${P_PATH:+/$BIN}" "$BIN" "$ranks" "${args[@]}"; do largs="$largs, $(jstr "$a")"; done
      labels="{\"clustermax-run\": \"$RUN_ID\", \"app.kubernetes.io/managed-by\": \"clustermax\"}"
      cat >"$CMX_TMP/mpijob-$n-$r.json" <<JOB
{"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob",
 "metadata": {"name": "$name", "labels": $labels},
 "spec": {"slotsPerWorker": $gpn,
  "runPolicy": {"cleanPodPolicy": "Running", "backoffLimit": 0, "activeDeadlineSeconds": $deadline,
                "ttlSecondsAfterFinished": 300},
  "mpiReplicaSpecs": {
   "Launcher": {"replicas": 1, "template": {"metadata": {"labels": $labels}, "spec": {
     "containers": [{"name": "launcher", "image": $(jstr "$IMAGE"),
       "env": [{"name": "OMPI_ALLOW_RUN_AS_ROOT", "value": "1"}, {"name": "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "value": "1"}],
       "command": ["/bin/bash", "-c", $(jstr "$launch"), "clustermax"$largs]}]}}},
   "Worker": {"replicas": $n, "template": {"metadata": {"labels": $labels}, "spec": {
     "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
     "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}],
     "containers": [{"name": "worker", "image": $(jstr "$IMAGE"),
       "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
       "resources": {"limits": {"nvidia.com/gpu": $gpn}}}]}}}}}}
JOB
      cmx_text "run-n$n-r$r-meta" "impl=nccl-tests
nodes=$n
ranks=$ranks
gpus_per_node=$gpn
launcher=mpijob
timeout_s=$P_RUN_TIMEOUT
mpijob=$name
command=mpirun -np $ranks -bind-to none -x NCCL_DEBUG=VERSION -x LD_LIBRARY_PATH -x PATH ${P_PATH:+$P_PATH/}$BIN ${args[*]}"
      if ! cmx_section "create-n$n-r$r" "${KC[@]}" -n "$NS" create --validate=false -f "$CMX_TMP/mpijob-$n-$r.json" -o name; then
        cmx_text "skip-n$n-r$r" "kubectl create mpijob failed (see section create-n$n-r$r)"
        break 2
      fi
      t_start=$(date +%s)
      launcher="" phase="" code="" run_rc=124
      sel="clustermax-run=$RUN_ID,training.kubeflow.org/job-name=$name,training.kubeflow.org/job-role=launcher"
      while :; do
        line=$("${KC[@]}" -n "$NS" get pods -l "$sel" \
          -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.status.phase}{" "}{.status.containerStatuses[0].state.terminated.exitCode}{"\n"}{end}' 2>/dev/null | tail -1)
        read -r launcher phase code <<<"$line"
        case $phase in
          Succeeded) run_rc=0; break ;;
          Failed) run_rc=${code:-1}; [ "$run_rc" = 0 ] && run_rc=1; break ;;
        esac
        if [ $(($(date +%s) - t_start)) -ge "$P_RUN_TIMEOUT" ]; then break; fi
        sleep "$POLL"
      done
      cmx_launcher_log() {
        if [ -n "$launcher" ]; then "${KC[@]}" -n "$NS" logs "pod/$launcher" || true; fi
        return "$run_rc"  # not $rc: cmx_section has a local of that name
      }
      cmx_section "run-n$n-r$r" cmx_launcher_log
      cmx_section "pods-n$n-r$r" "${KC[@]}" -n "$NS" get pods -l "clustermax-run=$RUN_ID,training.kubeflow.org/job-name=$name" -o wide
      # free the GPUs before the next run: delete the job, wait (bounded) for its pods to go
      cmx_kube_delete mpijobs.kubeflow.org,pods "$NS" "clustermax-run=$RUN_ID" 60 1
    done
  done
  # clean up now (the exit hook does it again) and prove nothing of this probe is left
  "${KC[@]}" -n "$NS" delete mpijobs.kubeflow.org,pods -l "clustermax-run=$RUN_ID" --wait=false --ignore-not-found >/dev/null 2>&1
  for _ in $(seq 1 60); do
    left=$("${KC[@]}" -n "$NS" get mpijobs.kubeflow.org,pods -l "clustermax-run=$RUN_ID" -o name 2>/dev/null) || break
    [ -z "$left" ] && break
    sleep 1
  done
  cmx_section leftover "${KC[@]}" -n "$NS" get mpijobs.kubeflow.org,pods -l "clustermax-run=$RUN_ID" -o name
  cmx_text plan "$PLAN"
  exit 0
fi

# ---------------------------------------------------------------------------------------------------
# Slurm
# ---------------------------------------------------------------------------------------------------
if [ "$platform" = slurm ]; then
  plan "launcher=srun"
  cmx_add_cleanup "scancel --name=$JOB --user=$(id -un)"
  part_args=()
  [ -n "$P_PARTITION" ] && part_args=(--partition="$P_PARTITION")
  cmx_section sinfo sinfo -h -N "${part_args[@]}" -o '%N|%G|%t'
  # usable GPU nodes: state idle/mix/alloc/comp, GRES gpu:...:N
  gpn_seen=$(awk -F'|' '$3 ~ /^(idle|mix|alloc|comp)/ && $2 ~ /gpu/ {
      n=$2; sub(/.*gpu(:[^:(,]*)?:/, "", n); sub(/[^0-9].*/, "", n); if (n+0 > 0) print $1, n+0 }' \
    <<<"$(sinfo -h -N "${part_args[@]}" -o '%N|%G|%t' 2>/dev/null)" | sort -u)
  avail=$(printf '%s\n' "$gpn_seen" | grep -c . || true)
  gmin=$(printf '%s\n' "$gpn_seen" | awk 'NF==2 {print $2}' | sort -n | head -1)
  gpn=${P_GPN:-$gmin}
  plan "nodes_available=$avail"
  plan "gpus_per_node=${gpn:-}"
  mpi_args=()
  cmx_section srun-mpi srun --mpi=list
  if [ -n "$P_MPI" ]; then
    mpi_args=(--mpi="$P_MPI")
  elif srun --mpi=list 2>&1 | grep -qw 'pmix'; then
    # listed is not loadable: try the plugin on a one-task step before relying on it
    if timeout -k 5 60 srun -N1 -n1 --job-name="$JOB" -t 1 "${part_args[@]}" --mpi=pmix true </dev/null >/dev/null 2>&1; then
      mpi_args=(--mpi=pmix)
    else
      plan "mpi_note=srun lists pmix but a --mpi=pmix step failed: using the cluster's MpiDefault"
    fi
  fi
  plan "mpi=${mpi_args[*]:-default}"
  img_args=()
  [ -n "$P_IMAGE" ] && img_args=(--container-image="$P_IMAGE")
  plan "image=$P_IMAGE"
  if [ -z "${gpn:-}" ]; then
    plan "skipped=no idle GPU node found in sinfo (GRES gpu)"
    cmx_text plan "$PLAN"
    exit 0
  fi
  minutes=$(((P_RUN_TIMEOUT + 59) / 60 + 1))
  # what one compute node has (binary, torch, NCCL environment, nccl.conf)
  cmx_discover() {
    timeout -k 10 120 srun -N1 -n1 --job-name="$JOB" -t 5 "${part_args[@]}" "${img_args[@]}" bash -c '
      b=$1; p=$2
      if [ -n "$p" ] && [ -x "$p/$b" ]; then echo "bin=$p/$b"
      elif command -v "$b" >/dev/null 2>&1; then echo "bin=$(command -v "$b")"
      else for d in /opt/nccl-tests/build /opt/nccl_tests/build /usr/local/nccl-tests/build "$HOME/nccl-tests/build" /opt/hpcx/nccl-tests/build; do
        [ -x "$d/$b" ] && { echo "bin=$d/$b"; break; }; done; fi
      if command -v torchrun >/dev/null 2>&1 && python3 -c "import torch" >/dev/null 2>&1; then echo "torch=$(python3 -c "import torch; print(torch.__version__)")"; fi
      env | grep "^NCCL_" | sed "s/^/env:/"
      [ -r /etc/nccl.conf ] && sed "s/^/conf:/" /etc/nccl.conf
      exit 0' _ "$BIN" "$P_PATH" </dev/null
  }
  cmx_discover_tee() { cmx_discover | tee "$CMX_TMP/discover"; }
  cmx_section discover cmx_discover_tee
  disc=$(cat "$CMX_TMP/discover" 2>/dev/null)
  nbin=$(printf '%s\n' "$disc" | sed -n 's/^bin=//p' | head -1)
  ntorch=$(printf '%s\n' "$disc" | sed -n 's/^torch=//p' | head -1)
  if [ -n "$nbin" ]; then impl=nccl-tests; elif [ -n "$ntorch" ]; then impl=torch; else impl=none; fi
  plan "impl=$impl"
  plan "binary=$nbin"
  if [ "$impl" = none ]; then
    plan "skipped=nccl-tests ($BIN) not found on the compute node and no PyTorch/torchrun for the fallback"
    cmx_text plan "$PLAN"
    exit 0
  fi
  export NCCL_DEBUG=${NCCL_DEBUG:-VERSION}
  CMX_TORCH_B64=$(cmx_torch_bench | base64 | tr -d '\n')
  export CMX_TORCH_B64
  for n in $P_NODES; do
    if [ "$n" -gt "$avail" ]; then
      cmx_text "skip-n$n" "only $avail usable GPU node(s)"
      continue
    fi
    for r in $(seq 1 "$P_REPS"); do
      if [ $(($(elapsed) + P_RUN_TIMEOUT)) -gt "$P_BUDGET" ]; then
        cmx_text "skip-n$n-r$r" "budget: $(elapsed) s used of budget_s=$P_BUDGET, a run may take run_timeout_s=$P_RUN_TIMEOUT"
        continue
      fi
      # --exclusive=user: no other user shares the nodes (plain --exclusive forbids the overcommitted step)
      common=(-N "$n" --job-name="$JOB" --exclusive=user -t "$minutes" "${part_args[@]}" "${img_args[@]}")
      if [ "$impl" = nccl-tests ]; then
        args=(-b "$P_MIN" -e "$P_MAX" -f "$P_STEP" -n "$P_ITERS" -w "$P_WARM" -c 1)
        if [ "$n" -eq 1 ]; then
          # one process drives every GPU of the node: works with and without an MPI build
          cmd=(srun "${common[@]}" -n 1 --gres=gpu:"$gpn" "$nbin" -g "$gpn" "${args[@]}")
          ranks=$gpn
        else
          # one rank per GPU: -n N*G with --overcommit spreads G tasks on each node, also where a node has
          # fewer CPUs than GPUs (--ntasks-per-node would refuse such a node)
          cmd=(srun "${common[@]}" -n $((n * gpn)) --overcommit --gres=gpu:"$gpn" "${mpi_args[@]}"
            "$nbin" -g 1 "${args[@]}")
          ranks=$((n * gpn))
        fi
      else
        cmd=(srun "${common[@]}" --ntasks-per-node=1 --gres=gpu:"$gpn" bash -c '
          f=$(mktemp); echo "$CMX_TORCH_B64" | base64 -d >"$f"
          head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -1)
          CMX_NODES_COUNT=$SLURM_NNODES torchrun --nnodes="$SLURM_NNODES" --nproc-per-node="$1" \
            --rdzv-backend=c10d --rdzv-endpoint="$head:29517" --rdzv-id="$SLURM_JOB_ID" "$f" \
            --collective "$2" --min-bytes "$3" --max-bytes "$4" --step-factor "$5" --iters "$6" --warmup "$7"
          rc=$?; rm -f "$f"; exit $rc' _ "$gpn" "$P_COLL" "$P_MIN" "$P_MAX" "$P_STEP" "$P_ITERS" "$P_WARM")
        ranks=$((n * gpn))
      fi
      cmx_text "run-n$n-r$r-meta" "impl=$impl
nodes=$n
ranks=$ranks
gpus_per_node=$gpn
launcher=srun
timeout_s=$P_RUN_TIMEOUT
command=${cmd[*]}"
      cmx_section "run-n$n-r$r" timeout -k 15 "$P_RUN_TIMEOUT" "${cmd[@]}" </dev/null
      scancel --name="$JOB" --user="$(id -un)" >/dev/null 2>&1 || true
    done
  done
  cmx_text plan "$PLAN"
  exit 0
fi

# ---------------------------------------------------------------------------------------------------
# Bare hosts: the local node with all its GPUs; mpirun over CMX_NODE_ADDRS for more nodes
# ---------------------------------------------------------------------------------------------------
plan "launcher=local"
gpn=$P_GPN
if [ -z "$gpn" ] && cmx_have nvidia-smi; then
  gpn=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
fi
plan "gpus_per_node=${gpn:-}"
if [ -z "$gpn" ] || [ "$gpn" -eq 0 ]; then
  plan "skipped=no GPU on this host (nvidia-smi -L lists none)"
  cmx_text plan "$PLAN"
  exit 0
fi
lbin=$(cmx_find_bin)
if [ -n "$lbin" ]; then
  impl=nccl-tests
elif cmx_have python3 && python3 -c 'import torch' >/dev/null 2>&1; then
  impl=torch
else
  impl=none
fi
plan "impl=$impl"
plan "binary=$lbin"
if [ "$impl" = none ]; then
  plan "skipped=nccl-tests ($BIN) not found (PATH, nccl_tests_path, /opt/nccl-tests/build ...) and no PyTorch for the fallback"
  cmx_text plan "$PLAN"
  exit 0
fi
read -r -a addrs <<<"${CMX_NODE_ADDRS:-}"
avail=${#addrs[@]}
[ "$avail" -lt 1 ] && avail=1
plan "nodes_available=$avail"
export NCCL_DEBUG=${NCCL_DEBUG:-VERSION}
torch_py="$CMX_TMP/torch_allreduce.py"
cmx_torch_bench >"$torch_py"
for n in $P_NODES; do
  if [ "$n" -gt "$avail" ]; then
    cmx_text "skip-n$n" "only $avail host(s) in the inventory"
    continue
  fi
  if [ "$n" -gt 1 ] && { [ "$impl" != nccl-tests ] || ! cmx_have mpirun; }; then
    cmx_text "skip-n$n" "multi-node runs on bare hosts need nccl-tests and mpirun (the torch fallback runs on one host only)"
    continue
  fi
  for r in $(seq 1 "$P_REPS"); do
    if [ $(($(elapsed) + P_RUN_TIMEOUT)) -gt "$P_BUDGET" ]; then
      cmx_text "skip-n$n-r$r" "budget: $(elapsed) s used of budget_s=$P_BUDGET, a run may take run_timeout_s=$P_RUN_TIMEOUT"
      continue
    fi
    if [ "$impl" = torch ]; then
      if cmx_have torchrun; then trun=(torchrun); else trun=(python3 -m torch.distributed.run); fi
      cmd=("${trun[@]}" --standalone --nnodes=1 --nproc-per-node="$gpn" "$torch_py" --collective "$P_COLL"
        --min-bytes "$P_MIN" --max-bytes "$P_MAX" --step-factor "$P_STEP" --iters "$P_ITERS" --warmup "$P_WARM")
      ranks=$gpn
      launcher=torchrun
    elif [ "$n" -eq 1 ]; then
      cmd=("$lbin" -g "$gpn" -b "$P_MIN" -e "$P_MAX" -f "$P_STEP" -n "$P_ITERS" -w "$P_WARM" -c 1)
      ranks=$gpn
      launcher=local
    else
      hosts=""
      for a in "${addrs[@]:0:$n}"; do hosts="$hosts${hosts:+,}$a:$gpn"; done
      cmd=(mpirun -np $((n * gpn)) -H "$hosts" --bind-to none -x PATH -x LD_LIBRARY_PATH -x NCCL_DEBUG
        "$lbin" -g 1 -b "$P_MIN" -e "$P_MAX" -f "$P_STEP" -n "$P_ITERS" -w "$P_WARM" -c 1)
      for v in $(env | grep '^NCCL_' | cut -d= -f1); do cmd=("${cmd[@]:0:7}" -x "$v" "${cmd[@]:7}"); done
      ranks=$((n * gpn))
      launcher=mpirun
    fi
    cmx_text "run-n$n-r$r-meta" "impl=$impl
nodes=$n
ranks=$ranks
gpus_per_node=$gpn
launcher=$launcher
timeout_s=$P_RUN_TIMEOUT
command=${cmd[*]}"
    cmx_section "run-n$n-r$r" timeout -k 15 "$P_RUN_TIMEOUT" "${cmd[@]}" </dev/null
  done
done
cmx_text plan "$PLAN"
exit 0
