# k8s_node_config: the kubelet CPU manager policy of the GPU nodes and the dcgm-exporter image in use,
# read through the Kubernetes API with the operator's kubeconfig. Read-only (get only).
# Sections (read by clustermax.probes.k8s_node_config):
#   gpu-nodes   "<node>\t<allocatable nvidia.com/gpu>" per node
#   configz     per GPU node (at most max_nodes): "@@node <name> rc=<rc>", then the kubelet's /configz
#               (GET /api/v1/nodes/<node>/proxy/configz; needs the nodes/proxy permission)
#   workloads   "<kind>\t<namespace>/<name>\t<images>" of every DaemonSet and Deployment
if [ -n "${CMX_PARAM_KUBECONFIG:-}" ]; then export KUBECONFIG="$CMX_PARAM_KUBECONFIG"; fi
KC=(kubectl --request-timeout="${CMX_PARAM_REQUEST_TIMEOUT_S:-20}s" --cache-dir "$CMX_TMP/kube-cache")
if [ -n "${CMX_PARAM_CONTEXT:-}" ]; then KC+=(--context "$CMX_PARAM_CONTEXT"); fi
MAX=${CMX_PARAM_MAX_NODES:-8}

cmx_section gpu-nodes "${KC[@]}" get nodes \
  -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.allocatable.nvidia\.com/gpu}{"\n"}{end}' || exit 0
cmx_configz() {
  local name gpus n=0 rc
  while IFS=$'\t' read -r name gpus; do
    [ -n "$gpus" ] && [ "$gpus" != 0 ] || continue
    [[ $name =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || continue  # a node name, nothing else, goes in the path
    n=$((n + 1))
    [ "$n" -le "$MAX" ] || break
    out=$("${KC[@]}" get --raw "/api/v1/nodes/$name/proxy/configz" 2>&1)
    rc=$?
    printf '@@node %s rc=%d\n%s\n' "$name" "$rc" "$out"
  done < <("${KC[@]}" get nodes \
    -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.allocatable.nvidia\.com/gpu}{"\n"}{end}' 2>/dev/null)
  return 0
}
cmx_section configz cmx_configz
cmx_section workloads "${KC[@]}" get daemonsets,deployments --all-namespaces \
  -o 'jsonpath={range .items[*]}{.kind}{"\t"}{.metadata.namespace}/{.metadata.name}{"\t"}{.spec.template.spec.containers[*].image}{"\n"}{end}'
exit 0
