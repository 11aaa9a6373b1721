# gpu_stack: the GPU software a node offers its tenants, read-only. Nothing is set (no vboost, no DCGM
# health watch), nothing is compiled or profiled: versions, files and the driver's own parameters.
# Sections (read by clustermax.probes.gpu_stack):
#   pci-gpus          "<bdf> <class>" of every NVIDIA display/3D PCI function (vendor 0x10de, class 0x03xx)
#   nvidia-version    /proc/driver/nvidia/version (readable when the driver is loaded)
#   gpu-names         nvidia-smi --query-gpu=name --format=csv,noheader
#   dcgmi             dcgmi --version
#   dcgm-package      "<package> <version>" of the DCGM packages (dpkg-query, else rpm)
#   hostengine        command -v nv-hostengine
#   modules           lines of /proc/modules for nvidia, nvidia_peermem, nv_peer_mem, gdrdrv (rc 2: unreadable)
#   kernel            uname -r (dma-buf GPUDirect needs Linux >= 5.12 with the open kernel module)
#   gdrcopy           libgdrapi in the linker cache (ldconfig -p) and the /dev/gdrdrv device node
#   nvidia-params     /proc/driver/nvidia/params (RmProfilingAdminOnly)
#   modprobe-nvreg    NVreg_RestrictProfilingToAdminUsers settings under the modprobe.d folders
#   nccl              libnccl in the linker cache, the NCCL package, and libnccl in the usual install folders
#   ncu               ncu --version (PATH, /usr/local/cuda/bin, /opt/nvidia/nsight-compute/*)
#   nvidia-ctk        nvidia-ctk --version
#   nvidia-container-runtime  nvidia-container-runtime --version (only without nvidia-ctk)
#   nct-package       "<package> <version>" of the NVIDIA Container Toolkit packages
#   cdi               NVIDIA CDI specs in /etc/cdi and /var/run/cdi
#   docker-runtimes   docker info --format '{{json .Runtimes}}' (an 'nvidia' runtime is the toolkit too)
#   numa              numactl -H, else "nodeN cpus=<cpulist> kb=<MemTotal>" per NUMA node from sysfs
#                     (coherent GPU memory shows as a CPU-less node on Grace Hopper / Grace Blackwell)
#   boost-slider      nvidia-smi boost-slider --list (reads the vboost setting; never sets it)
#   dcgm-exporter     dcgm-exporter --version, and "<package> <version>" of its package
cmx_pci_gpus() {
  local d class
  for d in /sys/bus/pci/devices/*; do
    [ -r "$d/vendor" ] || continue
    [ "$(cat "$d/vendor")" = 0x10de ] || continue
    class=$(cat "$d/class" 2>/dev/null)
    case "$class" in 0x03*) echo "${d##*/} $class" ;; esac
  done
  return 0
}
cmx_pkgs() {  # "<package> <version>" of the installed packages among the names given
  if cmx_have dpkg-query; then
    dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n' "$@" 2>/dev/null | awk '$1 ~ /^.i/ {print $2, $3}'
  elif cmx_have rpm; then
    rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\n' "$@" 2>/dev/null | grep -v 'is not installed'
  fi
  return 0
}
cmx_modules() {
  [ -r /proc/modules ] || return 2
  grep -E '^(nvidia|nvidia_peermem|nv_peer_mem|gdrdrv) ' /proc/modules
  return 0
}
cmx_gdrcopy() {
  if cmx_have ldconfig; then ldconfig -p | grep -E 'libgdrapi\.so'; elif [ -x /sbin/ldconfig ]; then /sbin/ldconfig -p | grep -E 'libgdrapi\.so'; fi
  if [ -c /dev/gdrdrv ]; then echo "/dev/gdrdrv"; fi
  return 0
}
cmx_nvreg() {
  grep -rhsE 'NVreg_RestrictProfilingToAdminUsers' /etc/modprobe.d /usr/lib/modprobe.d /lib/modprobe.d /run/modprobe.d
  return 0
}
cmx_nccl() {
  local f
  if cmx_have ldconfig; then ldconfig -p | grep -E 'libnccl\.so'; elif [ -x /sbin/ldconfig ]; then /sbin/ldconfig -p | grep -E 'libnccl\.so'; fi
  cmx_pkgs libnccl2 libnccl | sed 's/^/package /'
  for f in /usr/local/nccl*/lib/libnccl.so* /opt/nccl*/lib/libnccl.so* /opt/hpcx*/nccl*/lib/libnccl.so* \
    /opt/nvidia/hpc_sdk/Linux_*/*/comm_libs/*/nccl/lib/libnccl.so* /opt/nvidia/hpc_sdk/Linux_*/*/comm_libs/nccl/lib/libnccl.so*; do
    [ -e "$f" ] && echo "file $f"
  done
  return 0
}
cmx_cdi() {
  ls -1 /etc/cdi /var/run/cdi 2>/dev/null | grep -i nvidia
  return 0
}
cmx_numa() {
  local n cpus kb
  if cmx_have numactl; then numactl -H; return $?; fi
  for n in /sys/devices/system/node/node[0-9]*; do
    [ -d "$n" ] || continue
    cpus=$(cat "$n/cpulist" 2>/dev/null)
    kb=$(awk '/MemTotal/ {print $4}' "$n/meminfo" 2>/dev/null)
    echo "${n##*/} cpus=${cpus} kb=${kb}"
  done
  return 0
}
cmx_dcgm_exporter() {
  if cmx_have dcgm-exporter; then timeout 10 dcgm-exporter --version 2>&1 | head -n 5; fi
  cmx_pkgs datacenter-gpu-manager-exporter dcgm-exporter | sed 's/^/package /'
  return 0
}

GPUS=$(cmx_pci_gpus)
cmx_text pci-gpus "$GPUS"
HAVE_DRIVER=0
if [ -r /proc/driver/nvidia/version ]; then
  HAVE_DRIVER=1
  cmx_section nvidia-version cat /proc/driver/nvidia/version
fi
if [ -z "$GPUS" ] && [ "$HAVE_DRIVER" = 0 ] && ! cmx_have nvidia-smi; then
  exit 0  # no NVIDIA GPU on this node: nothing else to read
fi
if cmx_have nvidia-smi; then
  cmx_section gpu-names timeout 20 nvidia-smi --query-gpu=name --format=csv,noheader
fi
cmx_section dcgmi dcgmi --version
cmx_section dcgm-package cmx_pkgs datacenter-gpu-manager datacenter-gpu-manager-4-core datacenter-gpu-manager-4-cuda12 datacenter-gpu-manager-4-cuda13
cmx_text hostengine "$(command -v nv-hostengine 2>/dev/null)"
cmx_section modules cmx_modules
cmx_text kernel "$(uname -r)"
cmx_section gdrcopy cmx_gdrcopy
if [ -r /proc/driver/nvidia/params ]; then cmx_section nvidia-params cat /proc/driver/nvidia/params; fi
cmx_section modprobe-nvreg cmx_nvreg
cmx_section nccl cmx_nccl
NCU=$(command -v ncu 2>/dev/null)
if [ -z "$NCU" ]; then
  for f in /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu; do
    if [ -x "$f" ]; then NCU=$f; break; fi
  done
fi
if [ -n "$NCU" ]; then cmx_section ncu timeout 20 "$NCU" --version; else cmx_section ncu ncu --version; fi
cmx_section nvidia-ctk nvidia-ctk --version
if ! cmx_have nvidia-ctk; then cmx_section nvidia-container-runtime nvidia-container-runtime --version; fi
cmx_section nct-package cmx_pkgs nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1
cmx_section cdi cmx_cdi
if cmx_have docker; then cmx_section docker-runtimes timeout 10 docker info --format '{{json .Runtimes}}'; fi
cmx_section numa cmx_numa
if cmx_have nvidia-smi; then cmx_section boost-slider timeout 20 nvidia-smi boost-slider --list; fi
cmx_section dcgm-exporter cmx_dcgm_exporter
exit 0
