# system_info: who is this host? Read-only, no temp files, < 0.1 s.
cmx_section hostname uname -n
cmx_section os-release cat /etc/os-release
cmx_section kernel uname -r
cmx_section arch uname -m
cmx_section cpus getconf _NPROCESSORS_ONLN
cmx_section lscpu lscpu
# fallback for the CPU model when lscpu is not installed (first matching line only)
cmx_section cpuinfo-model grep -m1 -E '^(model name|cpu model|Processor|cpu)[[:space:]]*:' /proc/cpuinfo
cmx_section meminfo grep -E '^(MemTotal|MemAvailable):' /proc/meminfo
cmx_section uptime cat /proc/uptime
exit 0
