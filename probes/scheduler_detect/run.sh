# scheduler_detect: which orchestration does this login node offer? Slurm client (sinfo), kubectl with a
# context that answers, nvidia-smi. Read-only; kubectl is given at most ~5 s to answer.
cmx_section sinfo-version sinfo -V
cmx_section kubectl-client kubectl version --client
if cmx_have kubectl; then
  # only ask the API server when a context is set (otherwise kubectl would wait on localhost:8080)
  if cmx_section kubectl-context kubectl config current-context; then
    cmx_section kubectl-server timeout -k 2 8 kubectl version --request-timeout=5s
  fi
fi
cmx_section nvidia-smi-path command -v nvidia-smi
# how long the SSH connection to this host took, as measured by clustermax (kept with the raw output)
if [ -n "${CMX_CONNECT_TIME_S:-}" ]; then cmx_text ssh-connect "$CMX_CONNECT_TIME_S"; fi
exit 0
