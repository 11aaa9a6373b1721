# Time to first pod: a pod asking for GPUs is created, then polled until it is scheduled, running and
# finished; one warm-up (run 0, not counted) plus CMX_PARAM_REPETITIONS timed runs. Times are taken on
# this host's clock (cmx_now), from just before `kubectl create` to the first poll that sees each state.
# Every pod carries the label clustermax-run=<unique run id>; an exit hook deletes them all (normal end,
# timeout, Ctrl-C, dropped connection), the pods also carry activeDeadlineSeconds so the cluster kills
# them even if the hook cannot run, and at the end the namespace is listed again to prove nothing is left.
if [ -n "${CMX_PARAM_KUBECONFIG:-}" ]; then export KUBECONFIG="$CMX_PARAM_KUBECONFIG"; fi
KC=(kubectl --request-timeout=20s --cache-dir "$CMX_TMP/kube-cache")
if [ -n "${CMX_PARAM_CONTEXT:-}" ]; then KC+=(--context "$CMX_PARAM_CONTEXT"); fi
NS=${CMX_PARAM_NAMESPACE:-default}
REPS=${CMX_PARAM_REPETITIONS:-3}
GPUS=${CMX_PARAM_GPUS:-1}
POD_TIMEOUT=${CMX_PARAM_POD_TIMEOUT_S:-300}
POLL=${CMX_PARAM_POLL_INTERVAL_S:-0.5}
IMAGE=${CMX_PARAM_IMAGE:-nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04}
case "$REPS$GPUS$POD_TIMEOUT" in *[!0-9]*) echo "clustermax: repetitions, gpus and pod_timeout_s must be integers" >&2; exit 64;; esac
RUN_ID="cmx-$(date +%s)-$$-${RANDOM}"
IMG=${IMAGE//\\/\\\\}
IMG=${IMG//\"/\\\"}

cmx_section kubectl-version "${KC[@]}" version -o json || exit 0
cmx_text run-id "run_id=$RUN_ID namespace=$NS gpus=$GPUS repetitions=$REPS"
# Every pod of this run is deleted by the exit hook, whatever ends the script (the prelude's signal
# handling lets the hook run to its end; cmx_kube_cleanup retries within timeout's 10 s KILL grace).
cmx_add_cleanup 'cmx_kube_cleanup pods "$NS" "clustermax-run=$RUN_ID"'

secs() { printf '%s' "${1%.*}"; }
for i in $(seq 0 "$REPS"); do
  name="$RUN_ID-$i"
  cat > "$CMX_TMP/pod-$i.json" <<POD
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "$name", "labels": {"clustermax-run": "$RUN_ID", "app.kubernetes.io/managed-by": "clustermax"}},
 "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "activeDeadlineSeconds": $POD_TIMEOUT,
          "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
          "containers": [{"name": "probe", "image": "$IMG", "command": ["nvidia-smi", "-L"],
                          "resources": {"limits": {"nvidia.com/gpu": $GPUS}}}]}}
POD
  t_create=$(cmx_now)
  if ! cmx_section "create-$i" "${KC[@]}" -n "$NS" create --validate=false -f "$CMX_TMP/pod-$i.json" -o name; then
    cmx_text "run-$i" "run=$i name=$name created=$t_create outcome=create-failed"
    break
  fi
  t_sched="" t_run="" t_end="" phase="" node="" outcome=timeout
  while :; do
    line=$("${KC[@]}" -n "$NS" get pod "$name" -o 'jsonpath={.status.phase}{" "}{.spec.nodeName}' 2>/dev/null)
    t=$(cmx_now)
    phase=${line%% *}
    node=${line#* }
    [ "$node" = "$line" ] && node=""
    if [ -n "$node" ] && [ -z "$t_sched" ]; then t_sched=$t; fi
    if [ "$phase" = Running ] && [ -z "$t_run" ]; then t_run=$t; fi
    case "$phase" in
      Succeeded) t_end=$t; outcome=succeeded; break;;
      Failed) t_end=$t; outcome=failed; break;;
    esac
    if [ $(( $(secs "$t") - $(secs "$t_create") )) -ge "$POD_TIMEOUT" ]; then break; fi
    sleep "$POLL"
  done
  cmx_text "run-$i" "run=$i name=$name created=$t_create scheduled=$t_sched running=$t_run finished=$t_end phase=$phase node=$node outcome=$outcome"
  cmx_section "pod-$i" "${KC[@]}" -n "$NS" get pod "$name" -o json
  "${KC[@]}" -n "$NS" delete pod "$name" --wait=false --ignore-not-found >/dev/null 2>&1
  # a warm-up that does not succeed would only fail again: stop (the parser reports why)
  if [ "$i" -eq 0 ] && [ "$outcome" != succeeded ]; then break; fi
done

# clean up now (the exit hook does it again), wait up to a minute for the pods to go, and prove it
cmx_kube_delete pods "$NS" "clustermax-run=$RUN_ID" 60 1
cmx_section leftover "${KC[@]}" -n "$NS" get pods -l "clustermax-run=$RUN_ID" -o name
exit 0
