# access_identity: what the audit user may do on the login node and where its accounts come from,
# read-only. sudo is asked (sudo -n -l: list, never run, never prompt) only when the user is in a group
# that sudoers grants by default (sudo, wheel, admin) or is root, so a user sudo does not know never
# triggers sudo's "not in sudoers" incident log and mail.
# Sections (read by clustermax.probes.access_identity):
#   id           id -u, then id -Gn (the user's groups)
#   sudo         sudo -n -l (stdout and stderr), when asked; rc=127 missing=sudo without sudo
#   user-tools   paths of useradd and groupadd (PATH, /usr/sbin, /sbin)
#   nsswitch     the passwd and group lines of /etc/nsswitch.conf
#   pam          PAM modules named in /etc/pam.d, counted ("<count> pam_x.so")
#   sssd         "config" when /etc/sssd/sssd.conf exists, "running" when sssd runs
#   modules      module -t avail in a login shell (Lmod or Environment Modules print it on stderr)
cmx_user_tools() {
  local t d
  for t in useradd groupadd; do
    for d in "$(command -v "$t" 2>/dev/null)" "/usr/sbin/$t" "/sbin/$t"; do
      if [ -n "$d" ] && [ -x "$d" ]; then echo "$t $d"; break; fi
    done
  done
  return 0
}
cmx_nsswitch() {
  grep -E '^[[:space:]]*(passwd|group)[[:space:]]*:' /etc/nsswitch.conf
  return 0
}
cmx_pam() {
  grep -rhoE 'pam_[A-Za-z0-9_]+\.so' /etc/pam.d 2>/dev/null | sort | uniq -c
  return 0
}
cmx_sssd() {
  [ -e /etc/sssd/sssd.conf ] && echo "config"
  if cmx_have pgrep && pgrep -x sssd >/dev/null 2>&1; then echo "running"; fi
  return 0
}
cmx_modules() {
  # a login shell defines `module`; its listing goes to stderr, merged here and capped at 256 KiB
  timeout 20 bash -lc 'if type module >/dev/null 2>&1; then echo "@@module-system ${LMOD_VERSION:+lmod }${MODULESHOME:-}"; module -t avail 2>&1; else echo "@@no-module-system"; fi' </dev/null 2>&1 | head -c 262144
  return 0
}

cmx_text id "$(id -u)
$(id -Gn)"
if ! cmx_have sudo; then
  cmx_section sudo sudo -n -l  # rc=127 missing=sudo
elif [ "$(id -u)" = 0 ] || id -Gn | tr ' ' '\n' | grep -qxE 'sudo|wheel|admin'; then
  cmx_section sudo sh -c 'sudo -n -l 2>&1'
fi
cmx_section user-tools cmx_user_tools
if [ -r /etc/nsswitch.conf ]; then cmx_section nsswitch cmx_nsswitch; fi
cmx_section pam cmx_pam
cmx_section sssd cmx_sssd
cmx_section modules cmx_modules
exit 0
