#!/bin/sh
# Rebuilds the optional native GEMM addon (npm run build:native). Needs a C compiler; without one the
# committed prebuilt (or, failing that, the WebAssembly backend) is used. An optional argument is
# the output directory (the staleness test rebuilds into a temporary one and compares the bytes).
# BUILD_INFO records the compiler and the sources' sha256, so a stale binary is caught even where
# another compiler would not reproduce the committed bytes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
node_include=$(node -p "require('path').resolve(process.execPath, '../../include/node')")
platform=$(node -p "process.platform + '-' + process.arch")
out=${1:-$here/prebuilt/$platform}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
flags="-O3 -fPIC -fno-math-errno -ffp-contract=fast -std=gnu11 -Wall"
case $(uname -m) in
  x86_64)
    $cc $flags -mavx512f -mavx512vl -mfma -mprfchw -DSGEMM_ISA=avx512 -DVEC_BYTES=64 -DMR=8 -c "$here/sgemm.c" -o "$tmp/avx512.o"
    $cc $flags -mavx2 -mfma -mprfchw -DSGEMM_ISA=avx2 -DVEC_BYTES=32 -DMR=6 -c "$here/sgemm.c" -o "$tmp/avx2.o"
    # The inference kernels with the GEMM's flags: the same FMA contraction, so the same bits.
    $cc $flags -mavx512f -mavx512vl -mfma -DSGEMM_ISA=avx512 -DVEC_BYTES=64 -c "$here/infer.c" -o "$tmp/infer-avx512.o"
    $cc $flags -mavx2 -mfma -DSGEMM_ISA=avx2 -DVEC_BYTES=32 -c "$here/infer.c" -o "$tmp/infer-avx2.o"
    ;;
  *)
    # Other architectures: only the portable build; stubs satisfy the x86 symbols.
    for isa in avx512 avx2; do
      $cc $flags -DSGEMM_ISA=$isa -DVEC_BYTES=16 -DMR=6 -c "$here/sgemm.c" -o "$tmp/$isa.o"
      $cc $flags -DSGEMM_ISA=$isa -DVEC_BYTES=16 -c "$here/infer.c" -o "$tmp/infer-$isa.o"
    done
    ;;
esac
$cc $flags -DSGEMM_ISA=generic -DVEC_BYTES=16 -DMR=6 -c "$here/sgemm.c" -o "$tmp/generic.o"
$cc $flags -DSGEMM_ISA=generic -DVEC_BYTES=16 -c "$here/infer.c" -o "$tmp/infer-generic.o"
# Element-wise passes must round exactly like JavaScript: no fused multiply-add.
$cc -O3 -fPIC -fno-math-errno -ffp-contract=off -std=gnu11 -Wall -c "$here/elementwise.c" -o "$tmp/elementwise.o"
$cc -O3 -fPIC -fno-math-errno -ffp-contract=off -std=gnu11 -Wall -c "$here/softmax.c" -o "$tmp/softmax.o"
$cc $flags -I"$node_include" -c "$here/addon.c" -o "$tmp/addon.o"
$cc $flags -I"$node_include" -c "$here/probe.c" -o "$tmp/probe.o"
$cc -shared -o "$out/traind_kernels.node" "$tmp/addon.o" "$tmp/avx512.o" "$tmp/avx2.o" "$tmp/generic.o" "$tmp/elementwise.o" "$tmp/probe.o" \
  "$tmp/infer-avx512.o" "$tmp/infer-avx2.o" "$tmp/infer-generic.o" "$tmp/softmax.o"
{
  echo "compiler: $($cc --version | head -n 1)"
  for f in build.sh addon.c byte-quotient.h claim.h sgemm.c sgemm.h elementwise.c elementwise.h probe.c probe.h infer.c infer.h softmax.c softmax.h exp-lanes.h ce-lanes.h; do
    echo "sha256 $f: $(sha256sum "$here/$f" | cut -d' ' -f1)"
  done
} > "$out/BUILD_INFO"
echo "built $out/traind_kernels.node"
