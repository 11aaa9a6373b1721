# slurm_health: what Slurm's node health check and prolog/epilog really run, read on a compute node
# through one short job step (no GPU asked, --immediate=10: a busy cluster gives "not measured", it never
# waits). Read-only: the files are read (the first 256 KiB), never run.
# Sections (read by clustermax.probes.slurm_health):
#   config       scontrol show config (HealthCheckProgram, Prolog, Epilog)
#   gres         sinfo -h -o %G (does the cluster have GPU nodes)
#   node-files   from a job step on one node: per configured path "<hc|prolog|epilog> <path> exec=yes|no
#                dcgm=<matching lines> nhc=<matching lines>" (or "missing" / "unreadable" / "unset"),
#                "nhc <path>|missing", "dcgmi <path>|missing" and "nhc.conf active=<lines> dcgm=<lines>"
TAG="cmx-health-$(hostname -s 2>/dev/null | tr -cd 'A-Za-z0-9-')-$$"
cmx_add_cleanup "scancel --name '$TAG' --quiet"

cmx_have scontrol || { cmx_section config scontrol show config; exit 0; }
CONF=$(timeout 20 scontrol show config 2>/dev/null)
CONF_RC=$?
cmx_conf() { printf '%s\n' "$CONF"; return "$CONF_RC"; }
cmx_section config cmx_conf || exit 0
value() { printf '%s\n' "$CONF" | awk -F' = ' -v k="$1" '$1 ~ "^"k"[[:space:]]*$" {print $2; exit}'; }
HCP=$(value HealthCheckProgram)
PROLOG=$(value Prolog)
EPILOG=$(value Epilog)
cmx_section gres timeout 10 sinfo -h -o %G

# shellcheck disable=SC2016 # expanded on the node, with the paths as arguments (never interpolated)
NODE_SCRIPT='
report() {
  local label=$1 value=$2 f x
  if [ -z "$value" ] || [ "$value" = "(null)" ]; then echo "$label unset"; return; fi
  for f in ${value//,/ }; do
    if [ ! -e "$f" ]; then echo "$label $f missing"; continue; fi
    if [ ! -r "$f" ]; then echo "$label $f unreadable"; continue; fi
    x=no; [ -x "$f" ] && x=yes
    echo "$label $f exec=$x dcgm=$(head -c 262144 "$f" | grep -cE "dcgmi|nv-hostengine|dcgm") nhc=$(head -c 4096 "$f" | grep -ciE "nhc|node health check")"
  done
}
report hc "$1"; report prolog "$2"; report epilog "$3"
n=$(command -v nhc 2>/dev/null); [ -z "$n" ] && [ -x /usr/sbin/nhc ] && n=/usr/sbin/nhc
echo "nhc ${n:-missing}"
d=$(command -v dcgmi 2>/dev/null)
echo "dcgmi ${d:-missing}"
if [ -r /etc/nhc/nhc.conf ]; then
  echo "nhc.conf active=$(grep -cvE "^[[:space:]]*(#|$)" /etc/nhc/nhc.conf) dcgm=$(grep -cE "dcgm" /etc/nhc/nhc.conf)"
fi
'
cmx_section node-files timeout 60 srun -N1 -n1 --immediate=10 -t 1 -J "$TAG" --quiet \
  bash -c "$NODE_SCRIPT" cmx-health "$HCP" "$PROLOG" "$EPILOG"
exit 0
