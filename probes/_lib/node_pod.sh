# The command of a clustermax node pod (one per GPU node, see docs/kubernetes.md): run each probe script
# given in the pod's environment (CMX_SCRIPT_0, CMX_SCRIPT_1, ... for the ids in CMX_PROBES, in order)
# exactly as over SSH, on the stdin of `bash -s`, and frame what each printed so that one pod log holds
# them all apart: its stdout, its stderr, its exit status and its start and end times. The frame lines
# carry the audit's nonce (CMX_NONCE), so no probe output can end a frame early. Nothing is written
# outside a temporary directory that is removed at the end.
d=$(mktemp -d "${TMPDIR:-/tmp}/clustermax-pod.XXXXXXXX") || exit 70
i=0
for id in $CMX_PROBES; do
  var=CMX_SCRIPT_$i
  printf '@@CMX:POD %s BEGIN %s %s@@\n' "$CMX_NONCE" "$id" "$(date +%s.%N)"
  printf '%s' "${!var}" | bash -s 2>"$d/stderr"
  rc=$?
  printf '@@CMX:POD %s STDERR %s@@\n' "$CMX_NONCE" "$id"
  cat "$d/stderr"
  printf '@@CMX:POD %s END %s %s %s@@\n' "$CMX_NONCE" "$id" "$rc" "$(date +%s.%N)"
  i=$((i + 1))
done
rm -rf "$d"
exit 0
