# Time to first job on Slurm, run once from the login node.
#
# One warm-up and then CMX_PARAM_REPETITIONS timed runs of (a) a minimal GPU batch job (sbatch) and
# (b) the same work as an interactive srun. Clocks (see docs/probes.md):
#   t_submit / t_done / srun t0 / t1: login node, `date +%s.%N`, around sbatch and when polling
#                                    (every CMX_PARAM_POLL_S) first sees the job finished;
#   cmx-start / cmx-end:              printed by the job on the compute node (its clock, ns);
#   SubmitTime / StartTime / EndTime: slurmctld, from `scontrol -o show job` (1 s resolution).
# Everything submitted carries the job name $tag: the exit hook (normal end, timeout, Ctrl-C, dropped
# connection) cancels every job id it saw and then every job named $tag, waits for the queue to drain
# and reports what is left in a `cleanup` section.
#
# Sections: context, batch-N (timings), batch-N-job (scontrol line), batch-N-out (job output),
#           interactive-N, interactive-N-out, queue-after, cleanup; N=0 is the warm-up.

CMX_TTFJ_JOBS=()
CMX_TTFJ_TAG=""
CMX_TTFJ_USER=""
CMX_TTFJ_SRUN_PID=""
CMX_TTFJ_WORK=""

# Exit hook: cancel, wait for the queue to drain (at most ~3 s), report on fd 3 (the probe's stdout).
cmx_ttfj_cleanup() {
  # Ctrl-C and the remote `timeout` signal the whole process group, often more than once: a second
  # TERM arriving while this hook runs would otherwise end the shell half way through it.
  trap '' PIPE TERM INT HUP
  local left="" rc=0 i
  if [ -n "$CMX_WATCHDOG" ]; then kill "$CMX_WATCHDOG" 2>/dev/null; fi
  if [ -n "$CMX_TTFJ_SRUN_PID" ]; then kill -TERM "$CMX_TTFJ_SRUN_PID" 2>/dev/null; fi
  if [ "${#CMX_TTFJ_JOBS[@]}" -gt 0 ]; then scancel "${CMX_TTFJ_JOBS[@]}" 2>/dev/null; fi
  if [ -n "$CMX_TTFJ_TAG" ]; then
    scancel --name="$CMX_TTFJ_TAG" -u "$CMX_TTFJ_USER" 2>/dev/null
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do
      left=$(squeue -h -n "$CMX_TTFJ_TAG" -u "$CMX_TTFJ_USER" -o '%i %T' 2>/dev/null)
      rc=$?
      [ "$rc" = 0 ] && [ -z "$left" ] && break
      [ "$i" = 10 ] && scancel --name="$CMX_TTFJ_TAG" -u "$CMX_TTFJ_USER" 2>/dev/null
      sleep 0.1
    done
  fi
  [ -n "$CMX_TTFJ_WORK" ] && rm -rf "$CMX_TTFJ_WORK"
  printf '@@CMX:BEGIN cleanup@@\ntag=%s\njobs=%s\nsqueue_rc=%s\nleft=%s\n\n@@CMX:END cleanup rc=0@@\n' \
    "$CMX_TTFJ_TAG" "${CMX_TTFJ_JOBS[*]+${CMX_TTFJ_JOBS[*]}}" "$rc" "$(printf '%s' "$left" | tr '\n' ',')" >&3
}

# Seconds since $1 (a cmx_now value), as an integer, for timeouts.
cmx_ttfj_elapsed() { awk -v a="$1" -v b="$(cmx_now)" 'BEGIN { printf "%d", b - a }'; }

cmx_ttfj_batch() { # run index
  local i=$1 t_sub t_subd t_run="" t_done="" jid out rc state="" line="" polls=0 misses=0 k
  t_sub=$(cmx_now)
  out=$(sbatch --parsable -J "$CMX_TTFJ_TAG" -o "$CMX_TTFJ_WORK/%j.out" -e "$CMX_TTFJ_WORK/%j.out" \
    -D "$CMX_TTFJ_WORK" -N1 -n1 "${CMX_TTFJ_ARGS[@]}" --wrap "$CMX_TTFJ_JOBSRC" 2>"$CMX_TMP/sbatch.err")
  rc=$?
  t_subd=$(cmx_now)
  jid=${out%%;*}
  case $jid in '' | *[!0-9_]*) jid="" ;; esac
  if [ "$rc" != 0 ] || [ -z "$jid" ]; then
    state=SUBMIT_FAILED
  else
    CMX_TTFJ_JOBS+=("$jid")
    while :; do
      line=$(scontrol -o show job "$jid" 2>/dev/null)
      k=$(cmx_now)
      polls=$((polls + 1))
      state=$(printf '%s\n' "$line" | sed -n 's/.* JobState=\([A-Z_]*\).*/\1/p' | head -n 1)
      case $state in
        '') misses=$((misses + 1)); [ "$misses" -ge 20 ] && { state=UNKNOWN; break; } ;;
        RUNNING | COMPLETING) [ -z "$t_run" ] && t_run=$k ;;
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | PREEMPTED | BOOT_FAIL | DEADLINE | OUT_OF_MEMORY)
          t_done=$k
          break
          ;;
      esac
      if [ "$(cmx_ttfj_elapsed "$t_sub")" -ge "$CMX_TTFJ_TIMEOUT" ]; then
        scancel "$jid" 2>/dev/null
        state=PROBE_TIMEOUT
        break
      fi
      sleep "$CMX_TTFJ_POLL"
    done
    # the job's own output may reach the login node a moment later (NFS attribute caching)
    if [ "$state" = COMPLETED ]; then
      for k in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        grep -q '^cmx-end ' "$CMX_TTFJ_WORK/$jid.out" 2>/dev/null && break
        sleep 0.1
      done
    fi
  fi
  cmx_text "batch-$i" "kind=batch
run=$i
jobid=$jid
t_submit=$t_sub
t_submitted=$t_subd
t_running=$t_run
t_done=$t_done
state=$state
polls=$polls
sbatch_rc=$rc
sbatch_out=$out
sbatch_err=$(head -c 2000 "$CMX_TMP/sbatch.err" | tr '\n' ' ')"
  [ -n "$jid" ] && cmx_text "batch-$i-job" "$(scontrol -o show job "$jid" 2>&1 || printf '%s' "$line")"
  [ -n "$jid" ] && [ -f "$CMX_TTFJ_WORK/$jid.out" ] && cmx_text "batch-$i-out" "$(head -c 8000 "$CMX_TTFJ_WORK/$jid.out")"
  case $state in COMPLETED) return 0 ;; PROBE_TIMEOUT) return 2 ;; *) return 1 ;; esac
}

cmx_ttfj_interactive() { # run index
  local i=$1 t0 t1 rc
  t0=$(cmx_now)
  timeout -k 5 "$CMX_TTFJ_TIMEOUT" srun -J "$CMX_TTFJ_TAG" -N1 -n1 "${CMX_TTFJ_ARGS[@]}" \
    sh -c "$CMX_TTFJ_JOBSRC" </dev/null >"$CMX_TMP/srun.out" 2>"$CMX_TMP/srun.err" &
  CMX_TTFJ_SRUN_PID=$!
  wait "$CMX_TTFJ_SRUN_PID"
  rc=$?
  CMX_TTFJ_SRUN_PID=""
  t1=$(cmx_now)
  cmx_text "interactive-$i" "kind=interactive
run=$i
t_start_call=$t0
t_return=$t1
srun_rc=$rc
srun_err=$(head -c 2000 "$CMX_TMP/srun.err" | tr '\n' ' ')"
  cmx_text "interactive-$i-out" "$(head -c 8000 "$CMX_TMP/srun.out")"
  case $rc in 0) return 0 ;; 124 | 137) return 2 ;; *) return 1 ;; esac
}

cmx_ttfj_main() {
  local reps=${CMX_PARAM_REPETITIONS:-3} gpus=${CMX_PARAM_GPUS:-1} part=${CMX_PARAM_PARTITION:-}
  local kinds=${CMX_PARAM_KINDS:-batch,interactive} workdir=${CMX_PARAM_WORKDIR:-}
  local i rc tool tmin
  CMX_TTFJ_TIMEOUT=${CMX_PARAM_JOB_TIMEOUT_S:-300}
  CMX_TTFJ_POLL=${CMX_PARAM_POLL_S:-0.2}
  case $reps in '' | *[!0-9]*) cmx_text error "repetitions must be a whole number, got '$reps'"; return 0 ;; esac
  case $gpus in '' | *[!0-9]*) cmx_text error "gpus must be a whole number, got '$gpus'"; return 0 ;; esac
  case $CMX_TTFJ_TIMEOUT in '' | *[!0-9]* | 0) cmx_text error "job_timeout_s must be a positive whole number, got '$CMX_TTFJ_TIMEOUT'"; return 0 ;; esac
  case $CMX_TTFJ_POLL in '' | *[!0-9.]*) cmx_text error "poll_s must be a number of seconds, got '$CMX_TTFJ_POLL'"; return 0 ;; esac
  for tool in sbatch srun scontrol squeue scancel; do
    if ! cmx_have "$tool"; then
      cmx_text unavailable "$tool not found on PATH of $(hostname 2>/dev/null)"
      return 0
    fi
  done

  CMX_TTFJ_USER=$(id -un)
  CMX_TTFJ_TAG="cmx-ttfj-$(hostname -s 2>/dev/null)-$$-$RANDOM"
  exec 3>&1
  trap 'exit 141' PIPE
  cmx_add_cleanup cmx_ttfj_cleanup
  cmx_watch_parents  # prelude.sh: a dropped connection runs the exit hook
  # The job's output file must be readable from here: a folder under $HOME (shared on Slurm clusters).
  CMX_TTFJ_WORK=$(mktemp -d "${workdir:-$HOME}/.clustermax-ttfj.XXXXXXXX") || {
    cmx_text error "cannot create a work folder under ${workdir:-$HOME}"
    return 0
  }
  tmin=$(((CMX_TTFJ_TIMEOUT + 59) / 60))
  CMX_TTFJ_ARGS=(-t "$tmin")
  [ "$gpus" -gt 0 ] && CMX_TTFJ_ARGS+=("--gres=gpu:$gpus")
  [ -n "$part" ] && CMX_TTFJ_ARGS+=(-p "$part")
  # The job: its own clock at start and end, where it ran, which GPUs it got, and nvidia-smi -L.
  CMX_TTFJ_JOBSRC='echo "cmx-start $(date +%s.%N)"; echo "cmx-node $(hostname) jobid=${SLURM_JOB_ID:-} cuda=${CUDA_VISIBLE_DEVICES-unset}"; if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L; echo "cmx-smi-rc $?"; else echo "cmx-smi-rc 127"; fi; echo "cmx-end $(date +%s.%N)"'

  cmx_text context "user=$CMX_TTFJ_USER
host=$(hostname 2>/dev/null)
tag=$CMX_TTFJ_TAG
repetitions=$reps
gpus=$gpus
job_timeout_s=$CMX_TTFJ_TIMEOUT
poll_s=$CMX_TTFJ_POLL
partition=$part
kinds=$kinds
workdir=$CMX_TTFJ_WORK
args=${CMX_TTFJ_ARGS[*]}"

  # run 0 is the warm-up; a run that times out, or a failed warm-up, stops that kind (the next ones
  # would wait as long, or fail the same way)
  case ",$kinds," in *,batch,*)
    for i in $(seq 0 "$reps"); do
      cmx_ttfj_batch "$i"
      rc=$?
      [ "$rc" = 2 ] && { cmx_text batch-stopped "run $i did not finish within ${CMX_TTFJ_TIMEOUT}s"; break; }
      [ "$rc" != 0 ] && [ "$i" = 0 ] && { cmx_text batch-stopped "the warm-up run failed"; break; }
    done
    ;;
  esac
  case ",$kinds," in *,interactive,*)
    for i in $(seq 0 "$reps"); do
      cmx_ttfj_interactive "$i"
      rc=$?
      [ "$rc" = 2 ] && { cmx_text interactive-stopped "run $i did not finish within ${CMX_TTFJ_TIMEOUT}s"; break; }
      [ "$rc" != 0 ] && [ "$i" = 0 ] && { cmx_text interactive-stopped "the warm-up run failed"; break; }
    done
    ;;
  esac
  cmx_section queue-after squeue -h -n "$CMX_TTFJ_TAG" -u "$CMX_TTFJ_USER" -o '%i %T'
  return 0
}
cmx_ttfj_main </dev/null
