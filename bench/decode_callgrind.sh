#!/bin/bash
# Instruction counts of the decode workloads of bench/decode_bench.cc under callgrind (stable on a loaded machine).
#   bench/decode_callgrind.sh BIN DATA_DIR OUT_DIR TAG [workload...]
# BIN: a decode_bench binary; DATA_DIR: made once by `BIN prepare DATA_DIR`. Prints, per workload: total Ir, the
# self Ir of memcpy/memmove and memset (callgrind counts a `rep movsb` iteration, up to 64 bytes on this libc, as
# one instruction: these Ir are not bytes), and the output hash from a run without valgrind.
set -euo pipefail
bin=$1 data=$2 out=$3 tag=$4
shift 4
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(zstd_all blosc_all gzip_all zstd_rows zstd_cast shard_crops shard_all)
mkdir -p "$out"
for w in "${workloads[@]}"; do
  f="$out/$tag.$w.out"
  valgrind --tool=callgrind --callgrind-out-file="$f" "$bin" read "$data" "$w" 2>/dev/null
  ann=$(callgrind_annotate --threshold=100 "$f" 2>/dev/null)
  total=$(grep 'PROGRAM TOTALS' <<<"$ann" | awk '{print $1}')
  copy=$(grep -E '__mem(cpy|move)_' <<<"$ann" | awk '{gsub(",","",$1); s+=$1} END {print s+0}')
  fill=$(grep -E '__memset_' <<<"$ann" | awk '{gsub(",","",$1); s+=$1} END {print s+0}')
  echo "$tag $w Ir=$total memcpy_Ir=$copy memset_Ir=$fill $("$bin" read "$data" "$w" --hash)"
done
