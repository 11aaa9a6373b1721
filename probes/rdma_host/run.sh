# rdma_host: the RDMA NICs of a node and what NCCL will make of them, read-only. Nothing is sent on the
# fabric (no ib_write_bw): firmware and names from sysfs, NCCL's own configuration, the PCIe ACS control
# bits of the bridges between GPUs and NICs (lspci -vvv shows them to root only), the BlueField RShim.
# Sections (read by clustermax.probes.rdma_host):
#   ib-devices   one line per /sys/class/infiniband device:
#                "<name> fw=<fw_ver> vendor=<0x..> device=<0x..> pci=<bdf> link=<layer,...>"
#   nccl-conf    /etc/nccl.conf (NCCL reads it at init), when it exists
#   nccl-env     NCCL_* variables of the login environment a job inherits
#   topology     scontrol show topology (the switch levels of the fabric), when Slurm is on the node
#   node-count   nodes Slurm knows (sinfo), when the topology does not tell the fabric's size
#   pci-paths    "gpu|nic <sysfs path>" for every NVIDIA GPU and every RDMA NIC PCI function
#   lspci        the device and ACSCtl lines of lspci -D -vvv, only when the audit runs as root
#   id           id -u
#   rshim        /dev/rshim* and the tmfifo_net0 interface, when the host can see them
cmx_ib_devices() {
  local d name fw vendor device pci link
  for d in /sys/class/infiniband/*; do
    [ -e "$d" ] || continue
    name=${d##*/}
    fw=$(cat "$d/fw_ver" 2>/dev/null)
    vendor=$(cat "$d/device/vendor" 2>/dev/null)
    device=$(cat "$d/device/device" 2>/dev/null)
    pci=$(readlink -f "$d/device" 2>/dev/null)
    link=$(cat "$d"/ports/*/link_layer 2>/dev/null | sort -u | paste -sd, -)
    echo "$name fw=$fw vendor=$vendor device=$device pci=${pci##*/} link=$link"
  done
  return 0
}
cmx_nccl_env() {
  env | grep -E '^NCCL_' || true
  return 0
}
cmx_pci_paths() {
  local d
  for d in /sys/bus/pci/devices/*; do
    [ -r "$d/vendor" ] || continue
    if [ "$(cat "$d/vendor")" = 0x10de ]; then
      case "$(cat "$d/class" 2>/dev/null)" in 0x03*) echo "gpu $(readlink -f "$d")" ;; esac
    fi
  done
  for d in /sys/class/infiniband/*; do
    [ -e "$d/device" ] && echo "nic $(readlink -f "$d/device")"
  done
  return 0
}
cmx_lspci_acs() {
  lspci -D -vvv 2>/dev/null | grep -E '^[0-9a-f]{4}:[0-9a-f]{2}:|ACSCtl:'
  return 0
}
cmx_rshim() {
  ls -1d /dev/rshim* 2>/dev/null
  [ -e /sys/class/net/tmfifo_net0 ] && echo "tmfifo_net0"
  return 0
}

DEVICES=$(cmx_ib_devices)
cmx_text ib-devices "$DEVICES"
RSHIM=$(cmx_rshim)
if [ -z "$DEVICES" ] && [ -z "$RSHIM" ]; then
  exit 0  # no RDMA device on this node: nothing else to read
fi
[ -r /etc/nccl.conf ] && cmx_section nccl-conf cat /etc/nccl.conf
cmx_section nccl-env cmx_nccl_env
if cmx_have scontrol; then
  cmx_section topology timeout 10 scontrol show topology
  cmx_section node-count sh -c 'timeout 10 sinfo -h -N -o %N | sort -u | wc -l'
fi
cmx_section pci-paths cmx_pci_paths
UID_NOW=$(id -u)
cmx_text id "$UID_NOW"
if [ "$UID_NOW" = 0 ] && cmx_have lspci; then cmx_section lspci cmx_lspci_acs; fi
cmx_text rshim "$RSHIM"
exit 0
