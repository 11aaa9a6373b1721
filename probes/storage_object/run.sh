# storage_object (opt-in): bounded PUT/GET throughput of one object with the AWS CLI, on the login node (or
# the single target), against the bucket and endpoint the user names. Credentials are the AWS CLI's own:
# its environment (AWS_ACCESS_KEY_ID ...), ~/.aws/config and credentials, an instance role, or the named
# `profile`; clustermax never sees, prints or stores them (the CLI's output holds no secret).
# Sections (read by clustermax.probes.storage_object):
#   plan       key=value: endpoint (scheme://host[:port] only), bucket, key, object_bytes, tag, skipped
#   aws        aws --version (rc=127 missing=aws when the CLI is not installed)
#   put, get   "seconds=<wall> rc=<exit>" then the CLI's own lines (aws s3 cp --no-progress)
#   leftover   aws s3 ls of the test object after its deletion (empty: removed)
P_ENDPOINT=${CMX_PARAM_ENDPOINT_URL:-}
P_BUCKET=${CMX_PARAM_BUCKET:-}
P_PREFIX=${CMX_PARAM_PREFIX:-clustermax-probe}
P_MIB=${CMX_PARAM_OBJECT_MIB:-256}
P_PROFILE=${CMX_PARAM_PROFILE:-}
P_REGION=${CMX_PARAM_REGION:-}
P_OP_TIMEOUT=${CMX_PARAM_OP_TIMEOUT_S:-120}
for v in "$P_MIB" "$P_OP_TIMEOUT"; do
  case $v in '' | *[!0-9]*) cmx_text error "a numeric parameter is not a whole number: '$v'"; exit 2 ;; esac
done
case $P_PREFIX in *[!a-zA-Z0-9._/-]*) cmx_text error "prefix may hold letters, digits and . _ - / only"; exit 2 ;; esac
case $P_PROFILE in *[!a-zA-Z0-9._-]*) cmx_text error "profile must be a profile name"; exit 2 ;; esac
case $P_ENDPOINT in '' | http://* | https://*) ;; *) cmx_text error "endpoint_url must start with http:// or https://"; exit 2 ;; esac
case ${P_ENDPOINT#*://} in *@*) cmx_text error "endpoint_url must not carry credentials (user:password@): the AWS CLI takes them from its environment or config"; exit 2 ;; esac
TAG="cmx$$r${RANDOM}t$(date +%s)"
# the endpoint as shown: scheme://host[:port] only (no path or query string)
shown=$(printf '%s' "$P_ENDPOINT" | sed -E 's#^(https?://)([^/?#]*).*#\1\2#')
if [ -z "$P_BUCKET" ]; then
  cmx_text plan "skipped=storage_object is opt-in: give it a bucket (--param storage_object.bucket=NAME, and endpoint_url for S3-compatible storage)
endpoint=$shown"
  exit 0
fi
case $P_BUCKET in *[!a-zA-Z0-9._-]*) cmx_text error "bucket must be a bucket name (letters, digits, . _ -)"; exit 2 ;; esac
KEY="${P_PREFIX%/}/$TAG.bin"
BYTES=$((P_MIB * 1048576))
cmx_text plan "endpoint=$shown
bucket=$P_BUCKET
key=$KEY
object_bytes=$BYTES
tag=$TAG"
cmx_section aws aws --version || exit 0
AWS=(aws)
[ -n "$P_ENDPOINT" ] && AWS+=(--endpoint-url "$P_ENDPOINT")
[ -n "$P_PROFILE" ] && AWS+=(--profile "$P_PROFILE")
[ -n "$P_REGION" ] && AWS+=(--region "$P_REGION")
cmx_add_cleanup 'timeout 20 "${AWS[@]}" s3 rm "s3://$P_BUCKET/$KEY" >/dev/null 2>&1'
head -c "$BYTES" /dev/urandom >"$CMX_TMP/put.bin" || { cmx_text error "cannot write $BYTES bytes to the scratch directory"; exit 2; }
cmx_timed() { # OP ARGS...: time one aws s3 cp
  local t0 t1 rc
  shift
  t0=$(cmx_now)
  timeout --foreground -k 5 "$P_OP_TIMEOUT" "${AWS[@]}" s3 cp --no-progress "$@" >"$CMX_TMP/op.out" 2>&1
  rc=$?
  t1=$(cmx_now)
  printf 'seconds=%s rc=%s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')" "$rc"
  cat "$CMX_TMP/op.out"
  return 0
}
cmx_section put cmx_timed put "$CMX_TMP/put.bin" "s3://$P_BUCKET/$KEY"
cmx_section get cmx_timed get "s3://$P_BUCKET/$KEY" "$CMX_TMP/get.bin"
timeout 30 "${AWS[@]}" s3 rm "s3://$P_BUCKET/$KEY" >/dev/null 2>&1
cmx_left() { timeout 30 "${AWS[@]}" s3 ls "s3://$P_BUCKET/$KEY"; local rc=$?; [ "$rc" = 1 ] && return 0; return "$rc"; }
cmx_section leftover cmx_left
exit 0
