# node_perf: runs on every GPU node. Holds all its GPUs for its duration (about 45-55 s by default).
# Sections (read by clustermax.probes.node_perf):
#   gpus           nvidia-smi --query-gpu=index,name,pci.bus_id (the GPUs the node has)
#   nvbandwidth    nvbandwidth -t <testcases> (rc=127 missing=nvbandwidth when not installed)
#   torch          which python3 has torch ("torch=<version>" or nothing)
#   bench          one JSON line per GPU from gpu_bench.py, all GPUs at once (absent without torch)
#   samples        nvidia-smi --query-gpu=index,clocks.sm,power.draw,temperature.gpu,
#                  clocks_throttle_reasons.active sampled every sample_ms during the bench
P_TESTS=${CMX_PARAM_NVBANDWIDTH_TESTS:-host_to_device_memcpy_sm device_to_host_memcpy_sm device_to_device_bidirectional_memcpy_read_sm}
P_NVB=${CMX_PARAM_NVBANDWIDTH_PATH:-}
P_GEMM_S=${CMX_PARAM_GEMM_S:-15}
P_SIZE=${CMX_PARAM_GEMM_SIZE:-8192}
P_COPY=${CMX_PARAM_COPY_MIB:-1024}
P_MS=${CMX_PARAM_SAMPLE_MS:-500}
P_TORCH=${CMX_PARAM_TORCH:-1}
for v in "$P_GEMM_S" "$P_SIZE" "$P_COPY" "$P_MS"; do
  case $v in '' | *[!0-9]*) cmx_text error "a numeric parameter is not a whole number: '$v'"; exit 2 ;; esac
done
for t in $P_TESTS; do
  case $t in *[!a-z0-9_]*) cmx_text error "nvbandwidth testcase names are lower-case words (got '$t')"; exit 2 ;; esac
done
cmx_section gpus nvidia-smi --query-gpu=index,name,pci.bus_id --format=csv,noheader
ngpu=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
nvb=nvbandwidth
if [ -n "$P_NVB" ] && [ -x "$P_NVB" ]; then nvb=$P_NVB; fi
if [ -n "$P_TESTS" ]; then
  tests=()
  for t in $P_TESTS; do tests+=(-t "$t"); done
  if cmx_have "$nvb"; then
    cmx_section nvbandwidth timeout --foreground -k 5 120 "$nvb" "${tests[@]}"
  else
    cmx_section nvbandwidth "$nvb"  # rc=127 missing=nvbandwidth
  fi
fi
[ "$P_TORCH" = 1 ] || exit 0
cmx_torch() { python3 -c 'import torch; print("torch=" + torch.__version__)' 2>/dev/null; return 0; }
cmx_section torch cmx_torch
if ! python3 -c 'import torch' >/dev/null 2>&1 || [ "${ngpu:-0}" -lt 1 ]; then exit 0; fi
SAMPLER=""
cmx_stop_sampler() { [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; SAMPLER=""; return 0; }
cmx_add_cleanup cmx_stop_sampler
nvidia-smi --query-gpu=index,clocks.sm,power.draw,temperature.gpu,clocks_throttle_reasons.active \
  --format=csv,noheader,nounits -lms "$P_MS" >"$CMX_TMP/samples" 2>&1 &
SAMPLER=$!
cmx_bench() {
  local i pids=()
  for i in $(seq 0 $((ngpu - 1))); do
    CUDA_VISIBLE_DEVICES=$i HIP_VISIBLE_DEVICES=$i timeout --foreground -k 5 $((P_GEMM_S + 120)) \
      python3 "$CMX_FILES/gpu_bench.py" --gpu "$i" --size "$P_SIZE" --gemm-s "$P_GEMM_S" --copy-mib "$P_COPY" \
      >"$CMX_TMP/bench.$i" 2>"$CMX_TMP/bench.$i.err" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  for i in $(seq 0 $((ngpu - 1))); do cat "$CMX_TMP/bench.$i"; tail -n 3 "$CMX_TMP/bench.$i.err" >&2; done
  return 0
}
cmx_section bench cmx_bench
cmx_stop_sampler
cmx_section samples cat "$CMX_TMP/samples"
exit 0
