# clustermax node step (--reach scheduler on Slurm), run once on the login node: the node probes of an
# audit as ONE srun step, one task per node. Before this text the engine sent, shell-quoted:
#   CMX_STEP_TAG     job name (clustermax-step-...): every job of this audit's step carries it
#   CMX_STEP_NODES   the node list (comma-separated, names that passed clustermax's host-name check)
#   CMX_STEP_COUNT   how many nodes
#   CMX_STEP_ARGS    an array of further srun options (partition, account, qos, reservation, GPUs ...)
#   CMX_STEP_PAYLOAD the task stream (step_task.sh, the probe scripts, the per-node plan), written into
#                    $CMX_TMP on this node by a here-document: no file on shared storage
# srun's stdout (every line labelled with its task) goes straight to ours; the exit hook (normal end,
# timeout, Ctrl-C, dropped connection) stops srun, cancels every job named $CMX_STEP_TAG, waits for the
# queue to drain and reports what is left (section `cleanup`), as the ttfj probe does.
CMX_STEP_SRUN_PID=""
CMX_STEP_USER=""
CMX_STEP_T0=""

# Stop srun (TERM is passed on to the tasks, which report what they have), then cancel, check the queue.
cmx_step_cleanup() {
  trap '' PIPE TERM INT HUP
  local left="" rc=0 i jobs=""
  [ -n "$CMX_WATCHDOG" ] && kill "$CMX_WATCHDOG" 2>/dev/null
  if [ -n "$CMX_STEP_SRUN_PID" ] && kill -0 "$CMX_STEP_SRUN_PID" 2>/dev/null; then
    kill -TERM "$CMX_STEP_SRUN_PID" 2>/dev/null
    for i in $(seq 1 40); do
      kill -0 "$CMX_STEP_SRUN_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$CMX_STEP_SRUN_PID" 2>/dev/null
  fi
  # one squeue when the step ended by itself; otherwise cancel (again at the 10th look) until it drains
  for i in $(seq 1 30); do
    left=$(squeue -h -n "$CMX_STEP_TAG" -u "$CMX_STEP_USER" -o '%i %T' 2>/dev/null)
    rc=$?
    [ "$rc" = 0 ] && [ -z "$left" ] && break
    if [ "$i" = 1 ] || [ "$i" = 10 ]; then
      [ -z "$jobs" ] && jobs=$(printf '%s\n' "$left" | cut -d' ' -f1 | tr '\n' ' ')
      scancel --name="$CMX_STEP_TAG" -u "$CMX_STEP_USER" 2>/dev/null
    fi
    sleep 0.1
  done
  {
    printf '@@CMX:BEGIN srun-stderr@@\n'
    head -c 65536 "$CMX_TMP/srun.err" 2>/dev/null
    printf '\n@@CMX:END srun-stderr rc=0@@\n'
    printf '@@CMX:BEGIN cleanup@@\ntag=%s\nt_start=%s\nt_end=%s\nsrun_rc=%s\njobs_seen=%s\nsqueue_rc=%s\nleft=%s\n\n@@CMX:END cleanup rc=0@@\n' \
      "$CMX_STEP_TAG" "$CMX_STEP_T0" "$(cmx_now)" "${CMX_STEP_RC:-}" "$jobs" "$rc" \
      "$(printf '%s' "$left" | tr '\n' ',')"
  } >&3
}

cmx_step_main() {
  local tool
  for tool in srun squeue scancel; do
    if ! cmx_have "$tool"; then
      cmx_text unavailable "$tool not found on PATH of $(hostname 2>/dev/null)"
      return 0
    fi
  done
  CMX_STEP_USER=$(id -un)
  exec 3>&1
  trap 'exit 141' PIPE
  cmx_add_cleanup cmx_step_cleanup
  cmx_watch_parents  # prelude.sh: a dropped connection runs the exit hook
  # The task's launcher: save the stream under a node-local scratch directory, run it, remove it.
  local launcher='t=$(mktemp -d "${TMPDIR:-/tmp}/clustermax-task.XXXXXXXX") || exit 70
trap "rm -rf \"\$t\"" EXIT
trap "" HUP
cat > "$t/stream" || exit 71
bash "$t/stream" "$t"'
  CMX_STEP_T0=$(cmx_now)
  srun -J "$CMX_STEP_TAG" --nodes="$CMX_STEP_COUNT" --ntasks-per-node=1 --nodelist="$CMX_STEP_NODES" \
    --kill-on-bad-exit=0 --label --input=all "${CMX_STEP_ARGS[@]}" \
    bash -c "$launcher" < "$CMX_STEP_PAYLOAD" 2> "$CMX_TMP/srun.err" &
  CMX_STEP_SRUN_PID=$!
  wait "$CMX_STEP_SRUN_PID"
  CMX_STEP_RC=$?
  while kill -0 "$CMX_STEP_SRUN_PID" 2>/dev/null; do
    wait "$CMX_STEP_SRUN_PID"
    CMX_STEP_RC=$?
  done
  CMX_STEP_SRUN_PID=""
  return 0
}
cmx_step_main </dev/null
