#!/usr/bin/env bash
# The scorer bench (bench/StreamMonitor.Scorer.Bench) on a GPU machine that has no .NET: a self-contained linux-x64
# publish with the GPU flavour of ONNX Runtime (about 315 MB), gzipped and split into parts that each fit one run's
# 64 MiB carry, reassembled there, then run on CUDA and on CPU.
#
#   scripts/device/run-scorer-bench.sh pack      here (needs the .NET SDK): publish, compress, split into
#                                                artifacts/device/bench.tgz.NN (ignored by git) + bench.sha256
#   scripts/device/run-scorer-bench.sh unpack    there, once every part has been carried: check and unpack into
#                                                artifacts/device/bench/ (parts carried over earlier runs stay while
#                                                the machine is warm; carry bench.sha256 with each of them)
#   scripts/device/run-scorer-bench.sh run [bench args]   there (or here): CUDA first, then CPU; output in
#                                                $OUT (or artifacts/device/out) as bench-cuda.txt and bench-cpu.txt.
#                                                A GPU wants large batches and several in flight, e.g.
#                                                run --backfill-batch 4096 --batches-in-flight 4 --rate 300,20000
# Environment: PART_MIB (part size, default 56), PROVIDERS (default "cuda cpu"; "cpu" on a machine without a GPU),
# BENCH_ARGS_CPU (extra arguments of the CPU run only).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=artifacts/device
bundle=$work/bench
part_mib=${PART_MIB:-56}

pack() {
  rm -rf "$bundle" "$work"/bench.tgz.* "$work/bench.sha256"
  mkdir -p "$bundle/data"
  # Self-contained: the GPU machine has no .NET runtime. Gpu: the CUDA provider library comes with the package.
  dotnet publish bench/StreamMonitor.Scorer.Bench/StreamMonitor.Scorer.Bench.csproj -c Release -r linux-x64 --self-contained \
    -p:OnnxRuntimeFlavor=Gpu -o "$bundle/app" --nologo
  # The bench trains its model from the repository's data set; it looks for data/ above its own folder.
  cp data/breast_cancer_wisconsin.csv "$bundle/data/"
  tar -C "$work" -czf - bench | split -b "${part_mib}m" -d - "$work/bench.tgz."
  (cd "$work" && sha256sum bench.tgz.* > bench.sha256)
  du -b "$work"/bench.tgz.* | awk '{printf "%s %.1f MiB\n", $2, $1 / 1048576}'
}

unpack() {
  # Every part the checksum list names must be here and intact before anything is unpacked.
  (cd "$work" && sha256sum -c --quiet bench.sha256)
  rm -rf "$bundle"
  cat "$work"/bench.tgz.* | tar -C "$work" -xzf -
  echo "unpacked $(du -sh "$bundle" | cut -f1) into $bundle"
}

# CUDA 13 and cuDNN 9 from the GPU image's PyTorch environment (pip's nvidia-* wheels): ONNX Runtime's CUDA provider
# finds them through LD_LIBRARY_PATH only.
cuda_library_path() {
  local dirs
  dirs=$(find /opt/torch/.venv -type d -path '*/site-packages/nvidia/*/lib' 2>/dev/null | sort | paste -sd: -)
  echo "${dirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

run() {
  local out=${OUT:-$work/out} exe=$bundle/app/StreamMonitor.Scorer.Bench status=0
  mkdir -p "$out"
  [ -x "$exe" ] || { echo "no bench at $exe: run pack (here) or unpack (there) first" >&2; return 1; }
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/gpu.txt" 2>&1 || echo "no nvidia-smi" > "$out/gpu.txt"
  echo "$(date -u +%FT%TZ) $(nproc) cores; GPU: $(cat "$out/gpu.txt")" | tee "$out/machine.txt"
  # A linux-x64 publish puts librdkafka's three builds next to the executable, not under runtimes/ where the embedded
  # cluster looks: name the first whose dependencies this machine has (the plain one wants libsasl2.so.3).
  local lib
  for lib in librdkafka.so centos8-librdkafka.so; do
    if ! ldd "$bundle/app/$lib" | grep -q 'not found'; then
      export STREAMMON_LIBRDKAFKA=$PWD/$bundle/app/$lib
      break
    fi
  done
  local provider rc
  for provider in ${PROVIDERS:-cuda cpu}; do
    rc=0
    if [ "$provider" = cuda ]; then
      # cuda, not auto: a CUDA provider that cannot run must fail the run with its reason, never pass as CPU figures.
      LD_LIBRARY_PATH=$(cuda_library_path) "$exe" --execution-provider cuda "$@" > "$out/bench-cuda.txt" 2>&1 || rc=$?
    else
      # shellcheck disable=SC2086 # BENCH_ARGS_CPU is a list of arguments.
      "$exe" --execution-provider "$provider" "$@" ${BENCH_ARGS_CPU:-} > "$out/bench-$provider.txt" 2>&1 || rc=$?
    fi
    echo "== $provider run: exit $rc"; tail -40 "$out/bench-$provider.txt"
    [ "$rc" -eq 0 ] || status=$rc
  done
  return "$status"
}

case "${1:-}" in
  pack) pack ;;
  unpack) unpack ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 pack | unpack | run [bench arguments]" >&2; exit 2 ;;
esac
