# vm_guest: what a virtual machine's guest can see of its virtualisation, read-only: whether it can run
# nested guests (the Januscape boundary), whether the IOMMU translates the DMA of its GPUs and RDMA NICs,
# and whether an Arm (Grace) guest has SMMU command-queue virtualisation (CMDQV).
# Sections (read by clustermax.probes.vm_guest):
#   virt         systemd-detect-virt --vm ("none" and rc 1 on bare metal); without it, the cpuinfo
#                hypervisor flag and the DMI vendor/product
#   arch         uname -m
#   cpu-flags    the flags line of /proc/cpuinfo, reduced to vmx / svm / hypervisor
#   kvm          "/dev/kvm present|absent rw|no-access", then the nested parameter of kvm_intel/kvm_amd
#   cmdline      /proc/cmdline
#   iommu        "<gpu|nic> <bdf> group=<n> type=<identity|DMA|DMA-FQ|...>" for every GPU and RDMA NIC,
#                then "units <names of /sys/class/iommu>"
#   cmdqv        platform drivers and devices named *cmdqv* (tegra241-cmdqv), on aarch64 only
cmx_virt() {
  if cmx_have systemd-detect-virt; then
    systemd-detect-virt --vm
    return $?
  fi
  if grep -qw hypervisor /proc/cpuinfo 2>/dev/null; then echo "hypervisor-flag"; else echo "none"; fi
  cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name 2>/dev/null
  return 0
}
cmx_cpu_flags() {
  grep -m1 -E '^(flags|Features)' /proc/cpuinfo | tr ' \t' '\n\n' | grep -xE 'vmx|svm|hypervisor' | sort -u
  return 0
}
cmx_kvm() {
  if [ -e /dev/kvm ]; then
    if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo "/dev/kvm present rw"; else echo "/dev/kvm present no-access"; fi
  else
    echo "/dev/kvm absent"
  fi
  grep -H . /sys/module/kvm_intel/parameters/nested /sys/module/kvm_amd/parameters/nested 2>/dev/null
  return 0
}
cmx_iommu() {
  local d kind group
  for d in /sys/bus/pci/devices/*; do
    [ -r "$d/class" ] || continue
    kind=""
    case "$(cat "$d/vendor" 2>/dev/null):$(cat "$d/class")" in
      0x10de:0x03*) kind=gpu ;;
    esac
    [ -z "$kind" ] && [ -d "$d/infiniband" ] && kind=nic
    [ -n "$kind" ] || continue
    group=$(readlink -f "$d/iommu_group" 2>/dev/null)
    if [ -n "$group" ] && [ -d "$group" ]; then
      echo "$kind ${d##*/} group=${group##*/} type=$(cat "$group/type" 2>/dev/null)"
    else
      echo "$kind ${d##*/} group= type="
    fi
  done
  echo "units $(ls -1 /sys/class/iommu 2>/dev/null | paste -sd, -)"
  return 0
}
cmx_cmdqv() {
  ls -1 /sys/bus/platform/drivers /sys/bus/platform/devices 2>/dev/null | grep -i cmdqv
  return 0
}

cmx_section virt cmx_virt
ARCH=$(uname -m)
cmx_text arch "$ARCH"
case "$(systemd-detect-virt --vm 2>/dev/null)" in
  none) exit 0 ;;  # bare metal: nothing here applies
esac
cmx_section cpu-flags cmx_cpu_flags
cmx_section kvm cmx_kvm
cmx_section cmdline cat /proc/cmdline
cmx_section iommu cmx_iommu
if [ "$ARCH" = aarch64 ]; then cmx_section cmdqv cmx_cmdqv; fi
exit 0
