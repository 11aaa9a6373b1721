# gpu_health: runs on every GPU node. Read-only: changes no GPU setting.
# Sections (read by clustermax.probes.gpu_health):
#   host, now, uptime, tz      computed values (hostname, epoch seconds, /proc/uptime, UTC offset)
#   nvidia-smi-q               nvidia-smi -q (count, model, driver, CUDA, persistence, temperatures, power,
#                              clocks event reasons, ECC, retired pages, remapped rows, PCIe link)
#   nvidia-smi-nvlink          nvidia-smi nvlink -s (per-link speed or "<inactive>")
#   scontrol-node              scontrol show node <host> (Slurm only: the node's GRES, for the expected count)
#   journalctl-k               kernel log lines from NVRM (Xid, fallen off the bus) over the window
#   dmesg                      the same from dmesg, when journalctl is missing, fails or may not read the log
#   dcgmi-diag                 dcgmi diag -r <level> (when dcgmi is installed and dcgm_level > 0)
window=${CMX_PARAM_XID_WINDOW_DAYS:-30}
case $window in '' | *[!0-9]*) window=30 ;; esac
level=${CMX_PARAM_DCGM_LEVEL:-1}
case $level in '' | *[!0-9]*) level=1 ;; esac
dcgm_timeout=${CMX_PARAM_DCGM_TIMEOUT_S:-300}
case $dcgm_timeout in '' | *[!0-9]*) dcgm_timeout=300 ;; esac

cmx_text host "$(hostname 2>/dev/null || uname -n)"
cmx_text now "$(date +%s)"
cmx_text uptime "$(cat /proc/uptime 2>/dev/null)"
cmx_text tz "$(date +%z)"

cmx_section nvidia-smi-q nvidia-smi -q
cmx_section nvidia-smi-nvlink nvidia-smi nvlink -s

if [ "${CMX_PLATFORM:-}" = slurm ] && cmx_have scontrol; then
  cmx_section scontrol-node scontrol show node "$(hostname -s 2>/dev/null || hostname)"
fi

# Kernel log: only the NVIDIA driver's lines, the newest 2000 (a flapping GPU can log thousands).
cmx_klog_journal() {
  journalctl -k --no-pager -o short-iso --since "-${window}d" >"$CMX_TMP/klog" || return $?
  grep -E 'NVRM|Xid|fallen off the bus' "$CMX_TMP/klog" | tail -n 2000
  return 0
}
cmx_klog_dmesg() {
  if dmesg -T >"$CMX_TMP/klog" 2>"$CMX_TMP/klog.err"; then
    :  # [Wed Jul 31 23:14:18 2024] local time (see the tz section)
  elif grep -qi 'unrecognized option\|invalid option\|invalid argument' "$CMX_TMP/klog.err"; then
    dmesg >"$CMX_TMP/klog" || return $?  # busybox: [seconds since boot] (see the uptime section)
  else
    cat "$CMX_TMP/klog.err" >&2
    return 1
  fi
  grep -E 'NVRM|Xid|fallen off the bus' "$CMX_TMP/klog" | tail -n 2000
  return 0
}
need_dmesg=1
if cmx_have journalctl; then
  cmx_section journalctl-k cmx_klog_journal
  jrc=$?
  # a user outside adm/systemd-journal sees an empty kernel log with rc=0 and only a hint on stderr
  if [ "$jrc" -eq 0 ] && ! grep -qi 'permission\|not seeing messages\|no journal files' "$CMX_TMP/.stderr" 2>/dev/null; then
    need_dmesg=0
  fi
fi
if [ "$need_dmesg" -eq 1 ]; then
  cmx_section dmesg cmx_klog_dmesg
fi

if [ "$level" -gt 0 ]; then
  cmx_text dcgmi-level "$level"
  if cmx_have dcgmi; then
    cmx_section dcgmi-diag timeout -k 10 "$dcgm_timeout" dcgmi diag -r "$level"
  else
    cmx_section dcgmi-diag dcgmi  # records rc=127 missing=dcgmi
  fi
fi
exit 0
