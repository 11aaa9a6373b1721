# clustermax step task: what each task of the one srun step of an audit runs on its node (--reach
# scheduler). The engine sends this, the probe scripts (as base64 chunks) and a `case` on the node's name
# as one stream on srun's stdin, the same stream to every task; the task's launcher saved it under its
# node-local scratch directory ($1) and runs it with bash. For its node, the task rebuilds each probe's
# script from its chunks (byte for byte the text an SSH run sends), checks its SHA-256, runs it as
# `bash -s` with the script on stdin under the same supervisor as over SSH, and prints one frame per
# probe: its exit status, node clock start/end, and stdout/stderr, each capped and base64-encoded. srun
# labels every line with the task, so frames of different nodes never mix. Nothing is written outside
# the scratch directory, which the launcher removes.
set -u
export LC_ALL=C
CMX_T=$1
CMX_TASK_CAP=${CMX_TASK_CAP:-8388608}
CMX_TASK_STOP=0
CMX_TASK_NODE=${SLURMD_NODENAME:-$(hostname -s 2>/dev/null)}
trap 'CMX_TASK_STOP=1' HUP INT TERM

# cmx_chunk ID: a base64 chunk of script text from stdin (a here-document), kept for cmx_task_probe
# (bash's own read: no process per chunk).
declare -A CMX_C=()
cmx_chunk() { IFS= read -r -d '' "CMX_C[$1]" || true; }

# cmx_task_now: CMX_NOW = the node's clock, seconds with microseconds (bash's own: no process started).
cmx_task_now() {
  if [ -n "${EPOCHREALTIME:-}" ]; then CMX_NOW=${EPOCHREALTIME/,/.}; else CMX_NOW=$(date +%s.%N); fi
}

# cmx_task_frame PROBE STEP RC START END OUTFILE ERRFILE TIMEDOUT HTTP ERROR
cmx_task_frame() {
  local out=0 err=0 sizes enc=""
  sizes=$(stat -c %s "$6" "$7" 2>/dev/null) && { out=${sizes%%[!0-9]*}; err=${sizes##*[!0-9]}; }
  [ -n "${10}" ] && enc=$(printf '%s' "${10}" | base64 -w 0)
  printf '@@CMXSTEP:BEGIN probe=%s step=%s rc=%s start=%s end=%s outbytes=%s errbytes=%s timedout=%s interrupted=%s http=%s error=%s@@\n' \
    "$1" "$2" "$3" "$4" "$5" "$out" "$err" "$8" "$CMX_TASK_STOP" "$9" "$enc"
  cmx_task_b64 "$6" "$out"
  printf '@@CMXSTEP:STDERR@@\n'
  cmx_task_b64 "$7" "$err"
  printf '@@CMXSTEP:END@@\n'
}

# cmx_task_b64 FILE SIZE: the file (at most CMX_TASK_CAP bytes of it) in base64 lines.
cmx_task_b64() {
  if [ "$2" = 0 ]; then return 0; fi
  if [ "$2" -le "$CMX_TASK_CAP" ]; then base64 < "$1"; else head -c "$CMX_TASK_CAP" "$1" | base64; fi
}

# cmx_task_probe PROBE SHA256 LIMIT CHUNK...: rebuild the script, run it as SSH would, print its frame.
# LIMIT bounds the whole run (the supervisor's own timeout plus its kill grace and clean-up).
cmx_task_probe() {
  local id=$1 sha=$2 limit=$3 f="$CMX_T/script" got rc="" s0 s1 to=0 error=""
  shift 3
  # one decode of the chunks' base64 back to back; chunk by chunk if this base64 stops at padding
  for c in "$@"; do printf '%s' "${CMX_C[$c]-}"; done | base64 -d > "$f" 2>/dev/null
  got=$(sha256sum < "$f")
  got=${got%% *}
  if [ "$got" != "$sha" ]; then
    for c in "$@"; do printf '%s' "${CMX_C[$c]-}" | base64 -d; done > "$f" 2>/dev/null
    got=$(sha256sum < "$f")
    got=${got%% *}
  fi
  : > "$CMX_T/o"
  : > "$CMX_T/e"
  cmx_task_now
  s0=$CMX_NOW
  if [ "$CMX_TASK_STOP" = 1 ]; then
    error="interrupted"
  elif [ "$got" != "$sha" ]; then
    error="the script rebuilt on the node has SHA-256 $got, not $sha"
  else
    timeout -k 5 "$limit" bash -s < "$f" > "$CMX_T/o" 2> "$CMX_T/e" &
    wait $!
    rc=$?
    while kill -0 $! 2>/dev/null; do wait $!; rc=$?; done
    case $rc in 124 | 137) [ "$(grep -c '@@CMX:TIMEOUT ' "$CMX_T/e")" = 0 ] && to=1 ;; esac
    [ "$to" = 1 ] && rc=""
    [ "$CMX_TASK_STOP" = 1 ] && error="interrupted"
  fi
  cmx_task_now
  s1=$CMX_NOW
  cmx_task_frame "$id" main "$rc" "$s0" "$s1" "$CMX_T/o" "$CMX_T/e" "$to" "" "$error"
}

# cmx_task_get PROBE STEP PORT PATH TIMEOUT: GET http://127.0.0.1:PORT/PATH on this node (what the SSH
# reach does through its connection), framed like a probe's output; the HTTP status is the exit code.
cmx_task_get() {
  local code="" s0 s1 error=""
  : > "$CMX_T/o"
  : > "$CMX_T/e"
  cmx_task_now
  s0=$CMX_NOW
  if [ "$CMX_TASK_STOP" = 1 ]; then
    error="interrupted"
  elif ! command -v curl >/dev/null 2>&1; then
    error="curl not found on the node (the scheduler reach fetches endpoints with curl)"
  else
    code=$(curl -sS -g -m "$5" -o "$CMX_T/o" -w '%{http_code}' "http://127.0.0.1:$3$4" 2> "$CMX_T/e")
    if [ "$code" = 000 ] || [ -z "$code" ]; then
      code=""
      error=$(head -c 500 "$CMX_T/e" | tr '\n' ' ')
      [ -n "$error" ] || error="no HTTP answer"
    fi
    : > "$CMX_T/e"
  fi
  cmx_task_now
  s1=$CMX_NOW
  cmx_task_frame "$1" "$2" "$code" "$s0" "$s1" "$CMX_T/o" "$CMX_T/e" 0 "$code" "$error"
}

cmx_task_begin() {
  cmx_task_now
  printf '@@CMXSTEP:TASK node=%s job=%s step=%s start=%s@@\n' "$CMX_TASK_NODE" "${SLURM_JOB_ID:-}" \
    "${SLURM_STEP_ID:-}" "$CMX_NOW"
}
cmx_task_done() { printf '@@CMXSTEP:DONE node=%s interrupted=%s@@\n' "$CMX_TASK_NODE" "$CMX_TASK_STOP"; }
