# clustermax supervisor. The engine starts `bash -s` on the host and sends this first, then the probe
# (context, prelude, script). The outer bash reads only up to the cmx_supervise line; the inner bash,
# run under timeout(1), reads the rest of the stream. When the probe ends (or is cut at its timeout),
# the supervisor kills every process the probe left behind, a child that called setsid included: each
# of them carries this run's CMX_RUN_ID in its environment. TERM/INT/HUP (Ctrl-C in clustermax) are
# passed on to the probe so its cleanup hooks run. A cut is reported on stderr as @@CMX:TIMEOUT N@@.
cmx_supervise() {
  local limit=$1 login=$2 id tmp pid rc t0=$SECONDS round files f
  id="$$.$RANDOM$RANDOM.$(date +%s%N 2>/dev/null)"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustermax.XXXXXXXX") || { echo "clustermax: mktemp failed" >&2; return 70; }
  trap 'kill -TERM "$pid" 2>/dev/null' HUP INT TERM
  if [ "$login" = 1 ]; then
    CMX_RUN_ID=$id CMX_TMP=$tmp timeout -k 10 "$limit" bash -l -s <&0 &
  else
    CMX_RUN_ID=$id CMX_TMP=$tmp timeout -k 10 "$limit" bash -s <&0 &
  fi
  pid=$!
  wait "$pid"
  rc=$?
  while kill -0 "$pid" 2>/dev/null; do
    wait "$pid"
    rc=$?
  done
  trap '' HUP INT TERM
  for round in 1 2 3 4 5; do
    files=$(grep -lsFxz -- "CMX_RUN_ID=$id" /proc/[0-9]*/environ 2>/dev/null)
    [ -n "$files" ] || break
    for f in $files; do
      f=${f#/proc/}
      f=${f%/environ}
      [ "$f" = "$$" ] || kill -KILL "$f" 2>/dev/null
    done
    sleep 0.1
  done
  rm -rf "$tmp"
  if { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && [ $((SECONDS - t0)) -ge "$limit" ]; then
    printf '\n@@CMX:TIMEOUT %s@@\n' "$limit" >&2
    rc=124
  fi
  return "$rc"
}
