# node_software: versions of the software a tenant runs on every node, read-only (no daemon is started,
# nothing is pulled, nothing is written outside the scratch directory).
# Sections (read by clustermax.probes.node_software):
#   os-release       /etc/os-release (which distro packaged the tools)
#   nvcc             nvcc --version (PATH, else /usr/local/cuda/bin/nvcc): the CUDA Toolkit, not the driver
#   runc             runc --version (PATH, else /usr/sbin, /usr/local/sbin, /sbin: Debian and Ubuntu put
#                    it in /usr/sbin, off a user's PATH)
#   runc-package     "<package> <version>" of the package that owns the runc binary (dpkg, else rpm)
#   docker-client    docker --version (the CLI; says nothing about the engine)
#   docker-server    docker version (its Server block is the engine, as this user reaches it)
#   apptainer        apptainer --version, else singularity --version
#   perf             perf --version
#   sysctl           kernel.perf_event_paranoid and kernel.kptr_restrict ("path:value" lines)
#   hpc-sdk          release folders of the NVIDIA HPC SDK under /opt/nvidia/hpc_sdk with their nvc compiler
cmx_find() {  # TOOL on PATH, else in the sbin folders
  local d
  command -v "$1" 2>/dev/null && return 0
  for d in /usr/sbin /usr/local/sbin /sbin; do
    if [ -x "$d/$1" ]; then echo "$d/$1"; return 0; fi
  done
  return 1
}
cmx_pkg_of() {  # the package (and version) that owns the binary at PATH; nothing when no package does
  local path=$1 pkg
  path=$(readlink -f "$path" 2>/dev/null || printf '%s' "$path")
  if cmx_have dpkg-query; then
    pkg=$(dpkg-query -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
    if [ -n "$pkg" ]; then
      dpkg-query -W -f='${Package} ${Version}\n' "$pkg" 2>/dev/null
      return 0
    fi
  fi
  if cmx_have rpm; then
    rpm -qf "$path" --qf '%{NAME} %{VERSION}-%{RELEASE}\n' 2>/dev/null | grep -v 'not owned' | head -n 1
  fi
  return 0
}
cmx_sysctls() {
  grep -H . /proc/sys/kernel/perf_event_paranoid /proc/sys/kernel/kptr_restrict 2>/dev/null
  return 0
}
cmx_hpc_sdk() {
  local d
  for d in /opt/nvidia/hpc_sdk/Linux_*/*/; do
    [ -d "$d" ] || continue
    if [ -x "${d}compilers/bin/nvc" ]; then echo "${d%/} nvc"; else echo "${d%/}"; fi
  done
  return 0
}

if [ -r /etc/os-release ]; then cmx_section os-release cat /etc/os-release; fi
if cmx_have nvcc; then
  cmx_section nvcc nvcc --version
elif [ -x /usr/local/cuda/bin/nvcc ]; then
  cmx_section nvcc /usr/local/cuda/bin/nvcc --version
else
  cmx_section nvcc nvcc --version  # rc=127 missing=nvcc
fi
RUNC=$(cmx_find runc)
if [ -n "$RUNC" ]; then
  cmx_section runc "$RUNC" --version
  cmx_section runc-package cmx_pkg_of "$RUNC"
else
  cmx_section runc runc --version  # rc=127 missing=runc
fi
cmx_section docker-client docker --version
if cmx_have docker; then cmx_section docker-server timeout 10 docker version; fi
if cmx_have apptainer || ! cmx_have singularity; then
  cmx_section apptainer apptainer --version
else
  cmx_section apptainer singularity --version
fi
cmx_section perf perf --version
cmx_section sysctl cmx_sysctls
cmx_section hpc-sdk cmx_hpc_sdk
exit 0
