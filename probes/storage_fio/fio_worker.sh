# storage_fio worker: one node's share of one run (started by run.sh, one task per node through srun, or
# directly on a bare host). Arguments: TAG TARGET RUNTIME_S SIZE_MIB NUMJOBS IODEPTH RAND_IODEPTH IOENGINE DIRECT
# Prints '#cmx-fio ...' marker lines and fio's JSON between '#cmx-fio begin test=T direct=D' and
# '#cmx-fio end test=T rc=N'. Works in a directory of its own, <TARGET>/.cmx-fio.<TAG>.<host>.XXXXXX (or
# under <TARGET>/<user> when TARGET itself is not writable), removed on every exit: normal end, TERM from
# srun/scancel/timeout, INT, HUP.
set -u
tag=$1 target=$2 rt=$3 size_mib=$4 numjobs=$5 iodepth=$6 rand_iodepth=$7 engine=$8 direct=$9
host=$(hostname -s 2>/dev/null || hostname)
W=""
FIO=""
say() { printf '#cmx-fio %s\n' "$*"; }
cmx_w_cleanup() {
  trap '' HUP INT TERM
  # fio first: files it is still writing would make the directory's removal fail
  if [ -n "$FIO" ]; then
    kill -TERM "$FIO" 2>/dev/null
    wait "$FIO" 2>/dev/null
  fi
  if [ -n "$W" ]; then
    rm -rf "$W" 2>/dev/null || { sleep 0.5; rm -rf "$W"; }
    if [ -e "$W" ]; then say "host=$host removed=no dir=$W"; else say "host=$host removed=yes"; fi
  fi
}
trap cmx_w_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
if ! command -v fio >/dev/null 2>&1; then
  say "host=$host missing=fio"
  exit 0
fi
say "host=$host version=$(fio --version 2>/dev/null | head -n 1)"
me=${USER:-$(id -un 2>/dev/null)}
for d in "$target" "$target/$me"; do
  if [ -d "$d" ] && [ -w "$d" ]; then
    W=$(mktemp -d "$d/.cmx-fio.$tag.$host.XXXXXX" 2>/dev/null) && break
    W=""
  fi
done
if [ -z "$W" ]; then
  say "host=$host error=not-writable target=$target"
  exit 0
fi
say "host=$host dir=$W"
# at most a tenth of the free space, so a nearly full filesystem is not filled up
avail_kib=$(df -Pk "$W" 2>/dev/null | awk 'NR == 2 { print $4 }')
case $avail_kib in '' | *[!0-9]*) avail_kib="" ;; esac
if [ -n "$avail_kib" ] && [ $((avail_kib / 10240)) -lt "$size_mib" ]; then size_mib=$((avail_kib / 10240)); fi
per_job=$((size_mib / numjobs))
say "host=$host avail_kib=$avail_kib size_mib=$size_mib per_job_mib=$per_job"
if [ "$per_job" -lt 8 ]; then
  say "host=$host error=no-space"
  exit 0
fi
out="$W/.out.json"
cmx_w_fio() { # TEST DIRECT fio-args...
  local t=$1 d=$2 rc
  shift 2
  say "begin test=$t direct=$d"
  # in the background and waited for, so a signal runs the exit trap at once (not after fio ends)
  timeout --foreground -k 5 $((rt + 60)) fio --name=cmx --directory="$W" --numjobs="$numjobs" --group_reporting \
    --ioengine="$engine" --direct="$d" --time_based --runtime="$rt" --eta=never --output-format=json \
    "$@" >"$out" 2>&1 &
  FIO=$!
  wait "$FIO"
  rc=$?
  FIO=""
  cat "$out"
  say "end test=$t rc=$rc"
  return "$rc"
}
# O_DIRECT refused by the filesystem (tmpfs, some FUSE filesystems): fio prints err=22 and the job's
# "error" is 22; the write is run again buffered and the run says direct=0
cmx_w_fio seqwrite "$direct" --rw=write --bs=1M --iodepth="$iodepth" --size="${per_job}m" --end_fsync=1
if [ "$direct" = 1 ] && grep -Eq 'err=22|"error" : 22|O_DIRECT' "$out" 2>/dev/null; then
  direct=0
  rm -f "$W"/cmx.*
  cmx_w_fio seqwrite 0 --rw=write --bs=1M --iodepth="$iodepth" --size="${per_job}m" --end_fsync=1
fi
# read back what was written (a time-based write may not reach --size: fio would lay the rest out first)
min=""
for f in "$W"/cmx.*; do
  [ -f "$f" ] || continue
  s=$(stat -c %s "$f" 2>/dev/null) || continue
  if [ -z "$min" ] || [ "$s" -lt "$min" ]; then min=$s; fi
done
read_mib=$((${min:-0} / 1048576))
say "host=$host read_mib=$read_mib"
if [ "$read_mib" -lt 1 ]; then
  say "host=$host error=nothing-written"
  exit 0
fi
cmx_w_fio seqread "$direct" --rw=read --bs=1M --iodepth="$iodepth" --size="${read_mib}m"
cmx_w_fio randread "$direct" --rw=randread --bs=4k --iodepth="$rand_iodepth" --size="${read_mib}m" --norandommap
exit 0
