# storage_smallfiles: runs once, on the login node (or the single target), and launches through the scheduler.
# On the first shared filesystem (or `target`): the metadata test (create/stat/read/delete of `files` small
# files in a package-shaped tree, one private tree per node) on 1 ... N nodes at once; `import torch` cold
# and warm where torch is installed on a shared filesystem, else the same timing over a stand-in package
# tree (standard-library modules copied to the shared filesystem once, imported by every node at once);
# cross-node visibility (a file written on one node, seen on another). One python3 helper
# (smallfiles.py) does the work on the nodes; every test directory carries this run's unique tag and is
# removed on every exit (helpers' own handlers, the exit hook below, a final check).
# Sections (read by clustermax.probes.storage_smallfiles):
#   plan                 key=value: platform, tag, target, node_counts, torch (path), skipped
#   mounts               /proc/self/mountinfo of a compute node, then "#torch=<path of the torch package>"
#   meta-n<N>            the helper's JSON lines, one per node (srun -l prefixes "<task>: ")
#   import-create, import-n<N>, import-delete   the import test (stand-in tree), or torch-n<N> (torch)
#   visibility           the writer's and the reader's JSON lines (2 nodes)
#   skip-<what>          why a step did not run (budget, too few nodes, no python3)
#   leftover             test entries of this run still present afterwards (empty: clean)
set -o pipefail 2>/dev/null || true
# How a run stops early (the probe's timeout, Ctrl-C, a dropped connection): every step runs through
# cmx_bg, in a session of its own, waited for in the background. The signal then reaches this shell at
# once (a foreground child would delay the exit hook until it ended) and not srun, which would answer a
# TERM by SIGKILLing the helpers before they can remove their trees. The exit hook sends the helpers
# TERM (scancel -s TERM: they delete what they made), waits for the queue to drain, then cancels.
P_TARGET=${CMX_PARAM_TARGET:-}
P_COUNTS=${CMX_PARAM_NODE_COUNTS:-1 max}
P_FILES=${CMX_PARAM_FILES:-2000}
P_DEADLINE=${CMX_PARAM_DEADLINE_S:-8}
P_WARM=${CMX_PARAM_WARM_RUNS:-2}
P_VIS=${CMX_PARAM_VISIBILITY_TIMEOUT_S:-5}
P_BUDGET=${CMX_PARAM_BUDGET_S:-25}
P_PART=${CMX_PARAM_PARTITION:-}
platform=${CMX_PLATFORM:-bare}
for v in "$P_FILES" "$P_DEADLINE" "$P_WARM" "$P_VIS" "$P_BUDGET"; do
  case $v in '' | *[!0-9]*) cmx_text error "a numeric parameter is not a whole number: '$v'"; exit 2 ;; esac
done
case $P_TARGET in '' | /*) ;; *) cmx_text error "target must be an absolute path (got '$P_TARGET')"; exit 2 ;; esac
TAG="cmx$$r${RANDOM}t$(date +%s)"
JOB="clustermax-sf-$TAG"
T0=$(date +%s)
PLAN="platform=$platform
tag=$TAG
"
plan() { PLAN="$PLAN$1
"; }
elapsed() { echo $(($(date +%s) - T0)); }
HELPER=$(cat "$CMX_FILES/smallfiles.py")
ME=$(id -un)
DIR=""
if [ "$platform" = kubernetes ]; then
  plan "skipped=kubernetes: storage_smallfiles runs through Slurm or on a bare host"
  plan "skip_kind=not-applicable"
  cmx_text plan "$PLAN"
  exit 0
fi
# SHARED_TYPES of clustermax.parsers.mounts (a test checks that the lists agree)
SHARED_TYPES="nfs nfs4 lustre wekafs gpfs beegfs ceph fuse.ceph-fuse fuse.cephfs glusterfs fuse.glusterfs cifs smb3 virtiofs fuse.sshfs fuse.juicefs fuse.weka panfs ocfs2 gfs2 afs fuse.lustre fuse.vast"
probe_node='cat /proc/self/mountinfo
printf "#torch=%s\n" "$(python3 -c "import importlib.util as u; s = u.find_spec(\"torch\"); print(s.origin if s and s.origin else \"\")" 2>/dev/null)"
printf "#python3=%s\n" "$(command -v python3)"'
part_args=()
[ -n "$P_PART" ] && part_args=(--partition="$P_PART")
if [ "$platform" = slurm ]; then
  if ! cmx_have srun || ! cmx_have sinfo; then
    plan "skipped=srun/sinfo not found on the login node"
    cmx_text plan "$PLAN"
    exit 0
  fi
  avail=$(sinfo -h -N "${part_args[@]}" -o '%N|%t' 2>/dev/null | awk -F'|' '$2 ~ /^(idle|mix)/ { print $1 }' | sort -u | grep -c .)
  STEP=(srun --job-name="$JOB" --immediate=60 -t 5 "${part_args[@]}")
  on_nodes() { local n=$1; shift; cmx_bg timeout --foreground -k 5 120 "${STEP[@]}" -N "$n" --ntasks-per-node=1 -l "$@"; }
  cmx_probe_node() { cmx_bg timeout --foreground -k 5 90 "${STEP[@]}" -N1 -n1 bash -c "$probe_node" | tee "$CMX_TMP/mounts"; }
else
  avail=1
  on_nodes() { shift; cmx_bg timeout --foreground -k 5 120 "$@"; }
  cmx_probe_node() { bash -c "$probe_node" | tee "$CMX_TMP/mounts"; }
fi
# the exit hook: what a killed helper left on the target, when this host sees it too
cmx_sf_cleanup() {
  local i
  if [ "$platform" = slurm ]; then  # the helpers stop and remove their trees first
    scancel --signal=TERM --name="$JOB" --user="$ME" 2>/dev/null
    for i in $(seq 1 32); do
      [ -z "$(squeue -h -n "$JOB" -u "$ME" -o %i 2>/dev/null)" ] && break
      sleep 0.25
    done
    scancel --name="$JOB" --user="$ME" 2>/dev/null
  fi
  # srun itself is left alone: a TERM would make it SIGKILL the tasks; the supervisor ends it afterwards
  [ -n "$DIR" ] || return 0
  rm -rf "$DIR"/.cmx-sf."$TAG".* 2>/dev/null
  return 0
}
cmx_add_cleanup cmx_sf_cleanup
cmx_section mounts cmx_probe_node
plan "nodes_available=$avail"
if ! grep -q '^#python3=/' "$CMX_TMP/mounts" 2>/dev/null; then
  plan "skipped=python3 not found on the compute node (the small-file tests need it)"
  plan "skip_kind=not-installed"
  cmx_text plan "$PLAN"
  exit 0
fi
if [ -n "$P_TARGET" ]; then
  target=$P_TARGET
else
  target=$(awk -v types=" $SHARED_TYPES " '{ n = split($0, h, " - "); if (n < 2) next; split(h[1], a, " "); split(h[2], b, " ")
      if (a[5] !~ /^\/(proc|sys|dev|run)(\/|$)/ && index(types, " " b[1] " ")) { print a[5]; exit } }' "$CMX_TMP/mounts")
fi
if [ -z "$target" ]; then
  plan "skipped=no shared filesystem on the compute node (set target)"
  plan "skip_kind=no-target"
  cmx_text plan "$PLAN"
  exit 0
fi
plan "target=$target"
torch=$(sed -n 's/^#torch=//p' "$CMX_TMP/mounts" | head -n 1)
plan "torch=$torch"
# the directory the helpers work in: the target, or <target>/<user> when the target is not writable
if [ "$platform" = slurm ]; then
  DIR=$(timeout --foreground -k 5 60 "${STEP[@]}" -N1 -n1 bash -c 'for d in "$1" "$1/$2"; do [ -d "$d" ] && [ -w "$d" ] && { echo "$d"; exit 0; }; done' _ "$target" "$ME" </dev/null)
else
  for d in "$target" "$target/$ME"; do [ -d "$d" ] && [ -w "$d" ] && { DIR=$d; break; }; done
fi
if [ -z "$DIR" ]; then
  plan "skipped=$target is not writable by $ME (nor $target/$ME): set target to a writable directory"
  plan "skip_kind=not-writable"
  cmx_text plan "$PLAN"
  exit 0
fi
plan "dir=$DIR"
counts=""
for c in $P_COUNTS; do
  case $c in max) c=$avail ;; '' | *[!0-9]*) continue ;; esac
  [ "$c" -ge 1 ] && [ "$c" -le "$avail" ] || continue
  case " $counts " in *" $c "*) ;; *) counts="$counts $c" ;; esac
done
counts=$(printf '%s\n' $counts | sort -n | tr '\n' ' ')
plan "node_counts=$counts"
plan "files=$P_FILES"
plan "deadline_s=$P_DEADLINE"
budget_ok() { # NAME SECONDS
  if [ $(($(elapsed) + $2)) -gt "$P_BUDGET" ]; then
    cmx_text "skip-$1" "budget: $(elapsed) s used of budget_s=$P_BUDGET, the step may take $2 s"
    return 1
  fi
  return 0
}
for n in $counts; do
  budget_ok "meta-n$n" $((P_DEADLINE / 2 + 2)) || continue
  cmx_section "meta-n$n" on_nodes "$n" python3 -c "$HELPER" meta "$DIR" "$TAG" "$P_FILES" "$P_DEADLINE"
done
on_shared=""
if [ -n "$torch" ]; then
  on_shared=$(awk -v p="$torch" -v types=" $SHARED_TYPES " '{ n = split($0, h, " - "); if (n < 2) next; split(h[1], a, " "); split(h[2], b, " ")
      t = a[5]; if ((index(p, t "/") == 1 || t == "/") && length(t) >= best) { best = length(t); fs = b[1] } }
      END { if (index(types, " " fs " ")) print fs }' "$CMX_TMP/mounts")
fi
plan "torch_fstype=$on_shared"
if [ -n "$on_shared" ]; then
  for n in $counts; do
    budget_ok "torch-n$n" 6 || continue
    cmx_section "torch-n$n" on_nodes "$n" python3 -c "$HELPER" torch "$P_WARM"
  done
elif budget_ok import-create 3; then
  cmx_create() { on_nodes 1 python3 -c "$HELPER" import-create "$DIR" "$TAG" | tee "$CMX_TMP/create"; }
  cmx_section import-create cmx_create
  tree=$(sed -n 's/.*"tree": "\([^"]*\)".*/\1/p' "$CMX_TMP/create" | head -n 1)
  case $tree in "$DIR"/.cmx-sf."$TAG".import.*) ;; *) tree="" ;; esac
  if [ -n "$tree" ]; then
    for n in $counts; do
      budget_ok "import-n$n" 4 || continue
      cmx_section "import-n$n" on_nodes "$n" python3 -c "$HELPER" import-run "$tree" "$P_WARM"
    done
    cmx_section import-delete on_nodes 1 python3 -c "$HELPER" import-delete "$tree"
  fi
fi
if [ "$avail" -ge 2 ] && [ "$platform" = slurm ]; then
  if budget_ok visibility $((P_VIS / 2 + 2)); then
    cmx_section visibility cmx_bg timeout --foreground -k 5 $((P_VIS + 60)) "${STEP[@]}" -N2 --ntasks-per-node=1 -l bash -c \
      'if [ "$SLURM_PROCID" = 0 ]; then r=writer; else r=reader; fi; exec python3 -c "$1" visibility "$2" "$3" "$r" "$4"' \
      _ "$HELPER" "$DIR" "$TAG" "$P_VIS"
  fi
else
  cmx_text skip-visibility "needs 2 nodes through the scheduler (nodes available: $avail, platform $platform)"
fi
cmx_leftover() { ls -d "$DIR"/.cmx-sf."$TAG".* 2>/dev/null; return 0; }
if [ "$platform" = slurm ]; then
  cmx_leftover_srun() {
    cmx_bg timeout --foreground -k 5 60 "${STEP[@]}" -N1 -n1 bash -c 'ls -d "$1"/.cmx-sf."$2".* 2>/dev/null; exit 0' _ "$DIR" "$TAG"
  }
  cmx_section leftover cmx_leftover_srun
else
  cmx_section leftover cmx_leftover
fi
cmx_text plan "$PLAN"
exit 0
