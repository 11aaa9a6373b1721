# node_isolation: is the booted kernel the newest one installed, which kernel runs on which distro, and
# can the tenant reach the BMC from inside the node. Read-only: ipmitool runs only when the audit user
# can open an IPMI device, and then only `mc info` (a read).
# Sections (read by clustermax.probes.node_isolation):
#   uname            uname -r, then uname -v on a second line (Debian puts the package version there)
#   os-release       /etc/os-release
#   kernel-packages  installed kernel packages: dpkg-query (status, name, version) or rpm -q (name-version)
#   reboot-required  /var/run/reboot-required.pkgs, when the file exists (Debian/Ubuntu)
#   ipmi-devices     one line per IPMI device node that exists: "<path> rw|no-access" for the audit user
#   ipmitool-mc      ipmitool mc info (only when a device is open to the audit user)
#   id               id -u (0: the audit runs as root)
#   virt             systemd-detect-virt --vm ("none" on bare metal)
#   vmscape          /sys/devices/system/cpu/vulnerabilities/vmscape: the running kernel's own VMSCAPE status
cmx_kernel_packages() {
  if cmx_have dpkg-query; then
    dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n' 'linux-image-*'
    return $?
  fi
  if cmx_have rpm; then
    rpm -q kernel kernel-core --qf '%{NAME} %{VERSION}-%{RELEASE}.%{ARCH}\n'
    return $?
  fi
  return 127
}
cmx_ipmi_devices() {
  local dev
  for dev in /dev/ipmi0 /dev/ipmi/0 /dev/ipmidev/0; do
    [ -e "$dev" ] || continue
    if [ -r "$dev" ] && [ -w "$dev" ]; then echo "$dev rw"; else echo "$dev no-access"; fi
  done
  return 0
}

cmx_text uname "$(uname -r)
$(uname -v)"
if [ -r /etc/os-release ]; then cmx_section os-release cat /etc/os-release; fi
cmx_section kernel-packages cmx_kernel_packages
if [ -e /var/run/reboot-required ]; then
  cmx_section reboot-required cat /var/run/reboot-required.pkgs
fi
IPMI=$(cmx_ipmi_devices)
cmx_text ipmi-devices "$IPMI"
case "$IPMI" in
  *" rw"*) cmx_have ipmitool && cmx_section ipmitool-mc timeout 5 ipmitool mc info ;;
esac
cmx_text id "$(id -u)"
cmx_section virt systemd-detect-virt --vm
if [ -r /sys/devices/system/cpu/vulnerabilities/vmscape ]; then
  cmx_section vmscape cat /sys/devices/system/cpu/vulnerabilities/vmscape
fi
exit 0
