# container_run: does a container image run through Slurm (pyxis + enroot), how long does it take, and
# does the NCCL topology file of the nodes reach the container. Nothing is pulled unless the inventory
# names the image: parameter `image` (a squashfs path on the cluster, ./x.sqsh or /x.sqsh, or an image
# reference such as nvcr.io#nvidia/cuda:12.4.1-base-ubuntu22.04). Without it only the host side is read.
# Sections (read by clustermax.probes.container_run):
#   pyxis            lines of srun --help that offer --container-image (0: no pyxis)
#   enroot           enroot version
#   topo-host        from a job step on one node: "topo <path> <sha256>" for every NCCL topology file the node
#                    gives NCCL (NCCL_TOPO_FILE, /etc/nccl.conf, /var/run/nvidia-topologyd, /etc/nccl/*.xml)
#   container-run    the same reads inside the image, started with srun --container-image (first line
#                    "cmx-container-ok" when the container ran)
#   container-time   "<start> <end>" (date +%s.%N on the login node) around that srun
TAG="cmx-crun-$(hostname -s 2>/dev/null | tr -cd 'A-Za-z0-9-')-$$"
cmx_add_cleanup "scancel --name '$TAG' --quiet"
IMAGE=${CMX_PARAM_IMAGE:-}

cmx_section pyxis sh -c 'srun --help 2>&1 | grep -c -- "--container-image"'
cmx_section enroot enroot version
# shellcheck disable=SC2016 # expanded where it runs (node or container); extra paths come as arguments
TOPO_SCRIPT='
f=${NCCL_TOPO_FILE:-}
if [ -z "$f" ] && [ -r /etc/nccl.conf ]; then
  f=$(sed -n "s/^[[:space:]]*NCCL_TOPO_FILE[[:space:]]*=[[:space:]]*//p" /etc/nccl.conf | tail -n 1)
fi
for p in $f /var/run/nvidia-topologyd/virtualTopology.xml /etc/nccl/*.xml "$@"; do
  if [ -f "$p" ] && [ -r "$p" ]; then echo "topo $p $(sha256sum < "$p" | cut -d" " -f1)"; fi
done
'
HOST=$(timeout 60 srun -N1 -n1 --immediate=10 -t 1 -J "$TAG" --quiet sh -c "$TOPO_SCRIPT" cmx-topo 2>"$CMX_TMP/topo.err")
HOST_RC=$?
cmx_topo_host() { printf '%s\n' "$HOST"; cat "$CMX_TMP/topo.err" >&2; return "$HOST_RC"; }
cmx_section topo-host cmx_topo_host
[ -n "$IMAGE" ] || exit 0
PATHS=()
while IFS= read -r p; do PATHS+=("$p"); done < <(printf '%s\n' "$HOST" | awk '$1 == "topo" {print $2}')
T0=$(cmx_now)
cmx_section container-run timeout 900 srun -N1 -n1 --immediate=120 -t 15 -J "$TAG" --quiet \
  --container-image="$IMAGE" --no-container-mount-home \
  sh -c 'echo cmx-container-ok; '"$TOPO_SCRIPT" cmx-topo "${PATHS[@]+"${PATHS[@]}"}"
T1=$(cmx_now)
cmx_text container-time "$T0 $T1"
exit 0
