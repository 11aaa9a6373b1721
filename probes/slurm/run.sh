# Slurm configuration and health, run once on the login node.
# Sections (read by clustermax.probes.slurm):
#   version, config, partitions, nodes, sacct, mpi, srun-help, enroot, topology,
#   srun-multi (or srun-multi-skip), node-ssh (or node-ssh-skip), context
# Everything runs with stdin from /dev/null: the script itself arrives on bash's stdin, and srun/ssh
# would otherwise swallow the rest of it.

cmx_slurm_main() {
  local multi=true node_ssh=true
  # booleans arrive as 1/0 from the engine
  case ${CMX_PARAM_MULTI_NODE:-1} in 0 | false | no | off) multi=false ;; esac
  case ${CMX_PARAM_NODE_SSH:-1} in 0 | false | no | off) node_ssh=false ;; esac
  local step_timeout=${CMX_PARAM_STEP_TIMEOUT_S:-30} me tag
  case $step_timeout in '' | *[!0-9]*) step_timeout=30 ;; esac
  me=$(id -un 2>/dev/null || echo "${USER:-}")

  if ! cmx_have sinfo && ! cmx_have scontrol; then
    cmx_text unavailable "no Slurm client commands (sinfo, scontrol) on PATH of $(hostname 2>/dev/null)"
    return 0
  fi
  cmx_text context "user=$me host=$(hostname 2>/dev/null) step_timeout_s=$step_timeout"
  cmx_section version sinfo --version
  cmx_section config scontrol show config >"$CMX_TMP/config" 2>&1
  cat "$CMX_TMP/config"
  # No controller: every other scontrol/sinfo/srun call would wait for it in turn (about 10 s each).
  if grep -q 'Unable to contact slurm controller' "$CMX_TMP/config"; then
    cmx_section sacct timeout 20 sacct -n -X -o JobID,State -S now
    cmx_section mpi srun --mpi=list
    cmx_section srun-help srun --help
    cmx_section enroot enroot version
    cmx_text controller-down "the other checks need slurmctld; skipped"
    return 0
  fi
  cmx_section partitions scontrol -o show partition >"$CMX_TMP/partitions" 2>&1
  cat "$CMX_TMP/partitions"
  cmx_section nodes scontrol -o show node >"$CMX_TMP/nodes" 2>&1
  cat "$CMX_TMP/nodes"
  # accounting: does sacct answer at all (an empty window is enough)
  cmx_section sacct timeout 20 sacct -n -X -o JobID,State -S now
  cmx_section mpi srun --mpi=list
  cmx_section srun-help srun --help
  cmx_section enroot enroot version
  cmx_section topology scontrol show topology

  # A partition and nodes for the active checks: the default partition (else the first UP one).
  local part nodes_usable
  part=$(awk '/^PartitionName=/ && / Default=YES/ && / State=UP/ {sub(/^PartitionName=/, "", $1); print $1; exit}' \
    "$CMX_TMP/partitions")
  if [ -z "$part" ]; then
    part=$(awk '/^PartitionName=/ && / State=UP/ {sub(/^PartitionName=/, "", $1); print $1; exit}' \
      "$CMX_TMP/partitions")
  fi
  nodes_usable=0
  if [ -n "$part" ]; then
    nodes_usable=$(sinfo -h -N -r -p "$part" -t idle,mixed -o '%N' 2>/dev/null | sort -u | wc -l)
  fi

  if [ "$multi" != true ]; then
    cmx_text srun-multi-skip "disabled by the multi_node parameter"
  elif [ -z "$part" ]; then
    cmx_text srun-multi-skip "no partition in state UP"
  elif [ "$nodes_usable" -lt 2 ]; then
    cmx_text srun-multi-skip "fewer than 2 idle or mixed nodes in partition $part ($nodes_usable)"
  else
    tag="cmx-slurm-$(hostname -s 2>/dev/null)-$$-$RANDOM"
    cmx_add_cleanup "scancel --name='$tag' -u '$me'"
    # --immediate: fail instead of queueing behind other users' jobs (this is a check, not a benchmark)
    cmx_section srun-multi timeout -k 5 "$step_timeout" srun -N2 --ntasks-per-node=1 -p "$part" \
      --immediate=10 -t 1 -J "$tag" bash -c 'echo "$SLURMD_NODENAME $(hostname)"'
  fi

  # Passwordless SSH from the login node to one usable compute node (host keys: the system's
  # known_hosts files; unknown keys go to a throwaway file so nothing is left in ~/.ssh).
  local target
  target=$(sinfo -h -N -r -t idle,mixed,allocated -o '%N %o' 2>/dev/null | awk 'NF==2 {print $2; exit}')
  if [ "$node_ssh" != true ]; then
    cmx_text node-ssh-skip "disabled by the node_ssh parameter"
  elif [ -z "$target" ]; then
    cmx_text node-ssh-skip "no responding compute node to try"
  elif ! cmx_have ssh; then
    cmx_text node-ssh-skip "no ssh client on the login node"
  else
    cmx_text node-ssh-target "$target"
    cmx_section node-ssh timeout -k 2 15 ssh -n -o BatchMode=yes -o ConnectTimeout=5 \
      -o StrictHostKeyChecking=accept-new -o "UserKnownHostsFile=$CMX_TMP/known_hosts" \
      -o LogLevel=ERROR "$target" hostname
  fi
  return 0
}
cmx_slurm_main </dev/null
