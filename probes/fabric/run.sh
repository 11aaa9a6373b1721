# fabric: runs on every GPU node. Read-only.
# Sections (read by clustermax.probes.fabric):
#   ibstat              ibstat (CA type, firmware, per port: state, physical state, rate, link layer)
#   ib-sysfs            the same facts read from /sys/class/infiniband when ibstat is not installed
#                       ("path:value" lines of grep -H; absent when the directory does not exist)
#   ib-devices          names under /sys/class/infiniband (empty: the node has no RDMA device)
#   modules             lines of /proc/modules for nvidia_peermem / nv_peer_mem / nvidia
#   nvidia-version      /proc/driver/nvidia/version ("Open Kernel Module" means nvidia-open: dma-buf capable)
#   kernel              uname -r (dma-buf GPUDirect needs Linux >= 5.12)
#   nvidia-smi-topo     nvidia-smi topo -m (GPU-NIC affinity matrix)
cmx_ib_devices() {
  [ -d /sys/class/infiniband ] || return 0
  ls -1 /sys/class/infiniband
}
cmx_ib_sysfs() {
  grep -H . /sys/class/infiniband/*/fw_ver /sys/class/infiniband/*/hca_type \
    /sys/class/infiniband/*/ports/*/state /sys/class/infiniband/*/ports/*/phys_state \
    /sys/class/infiniband/*/ports/*/rate /sys/class/infiniband/*/ports/*/link_layer 2>/dev/null
  return 0
}
cmx_modules() {
  grep -E '^(nvidia_peermem|nv_peer_mem|nvidia) ' /proc/modules
  return 0
}

cmx_section ib-devices cmx_ib_devices
cmx_section ibstat ibstat  # rc=127 missing=ibstat when infiniband-diags is not installed
if ! cmx_have ibstat && [ -d /sys/class/infiniband ]; then
  cmx_section ib-sysfs cmx_ib_sysfs
fi
cmx_section modules cmx_modules
if [ -r /proc/driver/nvidia/version ]; then
  cmx_section nvidia-version cat /proc/driver/nvidia/version
fi
cmx_text kernel "$(uname -r)"
cmx_section nvidia-smi-topo nvidia-smi topo -m
exit 0
