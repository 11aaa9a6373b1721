# Monitoring endpoints: which TCP ports listen on this node (the DCGM exporter and node exporter ports).
# The /metrics bodies are fetched by clustermax itself through the SSH connection (probe.yaml endpoints),
# so no port is ever opened to the outside. Read-only.
DCGM_PORT=${CMX_PARAM_DCGM_EXPORTER_PORT:-9400}
NODE_PORT=${CMX_PARAM_NODE_EXPORTER_PORT:-9100}
cmx_text ports "dcgm_exporter_port=$DCGM_PORT node_exporter_port=$NODE_PORT"
cmx_section listening ss -Htln
# "<bdf> <class>" of every NVIDIA display/3D PCI function: a node without a GPU has no DCGM exporter to miss
cmx_pci_gpus() {
  local d
  for d in /sys/bus/pci/devices/*; do
    [ -r "$d/vendor" ] && [ "$(cat "$d/vendor")" = 0x10de ] || continue
    case "$(cat "$d/class" 2>/dev/null)" in 0x03*) echo "${d##*/} $(cat "$d/class")" ;; esac
  done
  return 0
}
cmx_section pci-gpus cmx_pci_gpus
exit 0
