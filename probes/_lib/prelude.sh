# clustermax probe prelude. The engine sends, on stdin to `bash -s`: the supervisor (supervisor.sh),
# parameter assignments (CMX_PARAM_<NAME>=<shell-quoted value>), this prelude, then the probe's script.
# Nothing is left on the host: the scratch directory goes away on exit, cleanup hooks run on normal
# exit, on timeout (TERM from `timeout`), on Ctrl-C (INT) and on a dropped connection (HUP), and the
# supervisor kills whatever is still running when the script is over.
set -u
export LC_ALL=C
# the supervisor made the scratch directory (and removes it even when this shell is killed)
if [ -z "${CMX_TMP:-}" ] || [ ! -d "$CMX_TMP" ] || [ ! -O "$CMX_TMP" ] || [ -L "$CMX_TMP" ]; then
  CMX_TMP=$(mktemp -d "${TMPDIR:-/tmp}/clustermax.XXXXXXXX") || { echo "clustermax: mktemp failed" >&2; exit 70; }
fi
CMX_CLEANUP=()
cmx_on_exit() {
  local hook
  trap '' HUP INT TERM  # cleanup must finish: a second signal (timeout(1) and clustermax both send TERM) is ignored
  for hook in "${CMX_CLEANUP[@]+"${CMX_CLEANUP[@]}"}"; do eval "$hook" >/dev/null 2>&1 || true; done
  rm -rf "$CMX_TMP"
}
trap cmx_on_exit EXIT
# the first signal ends the script (the EXIT trap then runs the cleanup hooks); later ones are ignored
trap 'trap "" HUP INT TERM; exit 129' HUP
trap 'trap "" HUP INT TERM; exit 130' INT
trap 'trap "" HUP INT TERM; exit 143' TERM
# cmx_add_cleanup 'command string': run at exit, whatever ends the script (e.g. scancel of a submitted job).
cmx_add_cleanup() { CMX_CLEANUP+=("$1"); }
# cmx_have TOOL: is TOOL on PATH (or a function)?
cmx_have() { command -v "$1" >/dev/null 2>&1; }
# cmx_section NAME CMD [ARGS...]: run CMD, framing its stdout as a section; stderr, when any,
# follows as section NAME!stderr. A missing CMD gives rc=127 and missing=CMD.
cmx_section() {
  local name=$1 rc
  shift
  printf '@@CMX:BEGIN %s@@\n' "$name"
  if ! cmx_have "$1"; then
    printf '\n@@CMX:END %s rc=127 missing=%s@@\n' "$name" "$1"
    return 127
  fi
  "$@" 2>"$CMX_TMP/.stderr"
  rc=$?
  printf '\n@@CMX:END %s rc=%d@@\n' "$name" "$rc"
  if [ -s "$CMX_TMP/.stderr" ]; then
    printf '@@CMX:BEGIN %s!stderr@@\n' "$name"
    cat "$CMX_TMP/.stderr"
    printf '\n@@CMX:END %s!stderr rc=0@@\n' "$name"
  fi
  return "$rc"
}
# cmx_text NAME TEXT: a section holding TEXT (a value the script computed).
cmx_text() { printf '@@CMX:BEGIN %s@@\n%s\n@@CMX:END %s rc=0@@\n' "$1" "$2" "$1"; }
# cmx_now: wall clock in seconds with nanoseconds, measured on the host.
cmx_now() { date +%s.%N; }
# cmx_kube_delete KINDS NAMESPACE SELECTOR [TRIES] [PAUSE]: delete the Kubernetes objects a probe
# created and check with a listing that none is left, trying again up to TRIES times (default 3), PAUSE
# seconds apart (default 0.2). Short request timeouts and a discovery cache of its own (a kubectl killed
# mid-write can leave the shared one unreadable). Honours KUBECONFIG and CMX_PARAM_CONTEXT.
cmx_kube_delete() {
  local kinds=$1 ns=$2 selector=$3 tries=${4:-3} pause=${5:-0.2} attempt left
  local k=(kubectl --request-timeout=3s --cache-dir "$CMX_TMP/kube-cache-cleanup")
  if [ -n "${CMX_PARAM_CONTEXT:-}" ]; then k+=(--context "$CMX_PARAM_CONTEXT"); fi
  for attempt in $(seq 1 "$tries"); do
    "${k[@]}" -n "$ns" delete "$kinds" -l "$selector" --wait=false --ignore-not-found >/dev/null 2>&1
    left=$("${k[@]}" -n "$ns" get "$kinds" -l "$selector" -o name 2>/dev/null) && [ -z "$left" ] && return 0
    [ "$attempt" = "$tries" ] || sleep "$pause"
  done
  return 1
}
# cmx_kube_cleanup KINDS NAMESPACE SELECTOR: the exit-hook form, three tries within timeout(1)'s 10 s
# kill grace (cmx_on_exit already ignores further signals while hooks run).
cmx_kube_cleanup() { cmx_kube_delete "$1" "$2" "$3" 3 0.2; }
# Without a terminal, a dropped SSH connection sends no signal: the shell would go on (and the jobs it
# queued stay queued) until its next write fails. cmx_watch_parents starts a watchdog that notices that a
# process that started this shell is gone (sshd's session, the engine) and sends HUP, so the exit hook
# runs; its PID is in CMX_WATCHDOG (kill it in the exit hook).
CMX_WATCHDOG=""
cmx_watch_parents() {
  local main=$$ p=$$ chain="" n=0
  while [ "$n" -lt 16 ]; do
    p=$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')
    case $p in '' | 0 | 1 | *[!0-9]*) break ;; esac
    chain="$chain $p"
    n=$((n + 1))
  done
  [ -n "$chain" ] || return 0
  (
    trap - EXIT HUP INT TERM
    while sleep 1; do
      for p in $chain; do
        if ! ps -p "$p" >/dev/null 2>&1; then
          kill -HUP "$main" 2>/dev/null
          exit 0
        fi
      done
    done
  ) </dev/null >/dev/null 2>&1 &
  CMX_WATCHDOG=$!
}
# cmx_bg CMD...: run CMD in a session of its own and wait for it, interruptibly (a signal to this shell
# runs its traps at once); the PID is in CMX_BG while it runs, for an exit hook to kill its session.
CMX_BG=""
cmx_bg() { # CMD...: run CMD in a session of its own, wait for it (interruptibly)
  local rc
  setsid "$@" </dev/null &
  CMX_BG=$!
  wait "$CMX_BG"
  rc=$?
  CMX_BG=""
  return "$rc"
}
