# storage_discover: runs on every compute node (in the same login session a job would have). Read-only.
# Sections (read by clustermax.probes.storage_discover):
#   mountinfo      /proc/self/mountinfo (what is mounted, with types and options)
#   fstab          /etc/fstab (what should be mounted; absent file: empty section)
#   auto-master    /etc/auto.master (autofs maps; section only when the file exists)
#   home           HOME=<path> and USER=<name> (is the home directory on a shared filesystem?)
#   df             df -PTk, cut after 10 s (a hung network mount blocks df)
#   responsive     "<rc> <mount point>" for each shared mount: stat -f under a 5 s timeout (rc 124: hung)
cmx_fstab() { [ -r /etc/fstab ] && cat /etc/fstab; return 0; }
cmx_section mountinfo cat /proc/self/mountinfo
cmx_section fstab cmx_fstab
if [ -r /etc/auto.master ]; then cmx_section auto-master cat /etc/auto.master; fi
cmx_text home "HOME=${HOME:-}
USER=$(id -un 2>/dev/null)"
cmx_section df timeout -k 2 10 df -PTk
# SHARED_TYPES of clustermax.parsers.mounts (a test checks that the lists agree)
SHARED_TYPES="nfs nfs4 lustre wekafs gpfs beegfs ceph fuse.ceph-fuse fuse.cephfs glusterfs fuse.glusterfs cifs smb3 virtiofs fuse.sshfs fuse.juicefs fuse.weka panfs ocfs2 gfs2 afs fuse.lustre fuse.vast"
cmx_responsive() {
  local t rc
  awk -v types=" $SHARED_TYPES " '{ n = split($0, h, " - "); if (n < 2) next; split(h[1], a, " "); split(h[2], b, " ")
      if (index(types, " " b[1] " ")) print a[5] }' /proc/self/mountinfo | while read -r t; do
    t=$(printf '%b' "$t")
    timeout -k 1 5 stat -f -c %T "$t" >/dev/null 2>&1
    rc=$?
    printf '%s %s\n' "$rc" "$t"
  done
  return 0
}
cmx_section responsive cmx_responsive
exit 0
