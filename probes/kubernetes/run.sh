# Kubernetes GPU platform, read-only: versions, nodes, GPU software, storage classes, RBAC self-check.
# Everything goes through kubectl with the operator's kubeconfig (param kubeconfig, else $KUBECONFIG or
# ~/.kube/config) and context (param context, else the current one). Nothing is created or changed;
# the discovery cache goes to the scratch directory, so nothing is left on the host either.
if [ -n "${CMX_PARAM_KUBECONFIG:-}" ]; then export KUBECONFIG="$CMX_PARAM_KUBECONFIG"; fi
KC=(kubectl --request-timeout="${CMX_PARAM_REQUEST_TIMEOUT_S:-20}s" --cache-dir "$CMX_TMP/kube-cache")
if [ -n "${CMX_PARAM_CONTEXT:-}" ]; then KC+=(--context "$CMX_PARAM_CONTEXT"); fi

# version first: when kubectl is missing or the API server cannot be reached, stop here
cmx_section kubectl-version "${KC[@]}" version -o json || exit 0
cmx_section nodes "${KC[@]}" get nodes -o json
cmx_section api-resources "${KC[@]}" api-resources -o name
# one line per DaemonSet/Deployment: kind, namespace, name, labels (JSON)
cmx_section workloads "${KC[@]}" get daemonsets,deployments --all-namespaces \
  -o 'jsonpath={range .items[*]}{.kind}{"\t"}{.metadata.namespace}{"\t"}{.metadata.name}{"\t"}{.metadata.labels}{"\n"}{end}'
# pods by name only (clusters can have tens of thousands)
cmx_section pods "${KC[@]}" get pods --all-namespaces \
  -o 'jsonpath={range .items[*]}{.metadata.namespace}{"\t"}{.metadata.name}{"\n"}{end}'
cmx_section storageclasses "${KC[@]}" get storageclasses -o json
cmx_section can-create-pods "${KC[@]}" auth can-i create pods
cmx_section can-list-nodes "${KC[@]}" auth can-i list nodes
cmx_section can-i-list "${KC[@]}" auth can-i --list
exit 0
