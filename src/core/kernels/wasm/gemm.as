// AssemblyScript source of the WebAssembly SIMD GEMM (built by build.sh into gemm-wasm.ts).
// Row-major C = alpha·op(A)·op(B) + beta·C on 128-bit SIMD: op(A) and op(B) are packed into
// zero-padded MR×KC / KC×NR panels and a 4×8 register tile accumulates over k. Every element is
// summed in the same order whichever tile holds it (edge tiles run on a padded copy), so results
// do not depend on how rows or columns are split.
// With --enable relaxed-simd the multiply-add is f32x4.relaxed_madd (an FMA on x86 with FMA).

const MR: i32 = 4;
const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 128;
export const NC: i32 = 1024;

/** The register tile: work split across threads is cut at multiples of these. */
export function tileRows(): i32 {
  return MR;
}
export function tileCols(): i32 {
  return NR;
}

/** First free byte after the module's static data, 64-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

// Packs rows [i0, i0+mc) × k [p0, p0+kc) of op(A) into MR-row panels, k-major inside a panel.
function packA(A: usize, transA: bool, M: i32, K: i32, i0: i32, mc: i32, p0: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(mc - ir, MR);
    const panel = dst + (<usize>(ir * kc) << 2);
    if (!transA) {
      for (let r = 0; r < MR; r++) {
        if (r < rows) {
          const src = A + (<usize>((i0 + ir + r) * K + p0) << 2);
          for (let k = 0; k < kc; k++) store<f32>(panel + (<usize>(k * MR + r) << 2), load<f32>(src + (<usize>k << 2)));
        } else {
          for (let k = 0; k < kc; k++) store<f32>(panel + (<usize>(k * MR + r) << 2), 0);
        }
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const src = A + (<usize>((p0 + k) * M + i0 + ir) << 2);
        const d = panel + (<usize>(k * MR) << 2);
        if (rows == MR) {
          v128.store(d, v128.load(src));
        } else {
          for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(src + (<usize>r << 2)) : 0);
        }
      }
    }
  }
}

// Packs k [p0, p0+kc) × columns [j0, j0+nc) of op(B) into NR-column panels, k-major inside a panel.
function packB(B: usize, transB: bool, N: i32, K: i32, j0: i32, nc: i32, p0: i32, kc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(nc - jr, NR);
    const panel = dst + (<usize>(jr * kc) << 2);
    if (!transB) {
      for (let k = 0; k < kc; k++) {
        const src = B + (<usize>((p0 + k) * N + j0 + jr) << 2);
        const d = panel + (<usize>(k * NR) << 2);
        if (cols == NR) {
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
        } else {
          for (let c = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), c < cols ? load<f32>(src + (<usize>c << 2)) : 0);
        }
      }
    } else {
      for (let c = 0; c < NR; c++) {
        if (c < cols) {
          const src = B + (<usize>((j0 + jr + c) * K + p0) << 2);
          for (let k = 0; k < kc; k++) store<f32>(panel + (<usize>(k * NR + c) << 2), load<f32>(src + (<usize>k << 2)));
        } else {
          for (let k = 0; k < kc; k++) store<f32>(panel + (<usize>(k * NR + c) << 2), 0);
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// C tile (4×8, row stride ldc floats) = alpha·acc + beta·C over the panels Ap (MR×kc) and Bp (kc×NR).
function tile(kc: i32, Ap: usize, Bp: usize, C: usize, ldc: i32, alpha: f32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let a = Ap, b = Bp;
  const end = Ap + (<usize>(kc * MR) << 2);
  while (a < end) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let s = f32x4.splat(load<f32>(a));
    c00 = madd(b0, s, c00);
    c01 = madd(b1, s, c01);
    s = f32x4.splat(load<f32>(a, 4));
    c10 = madd(b0, s, c10);
    c11 = madd(b1, s, c11);
    s = f32x4.splat(load<f32>(a, 8));
    c20 = madd(b0, s, c20);
    c21 = madd(b1, s, c21);
    s = f32x4.splat(load<f32>(a, 12));
    c30 = madd(b0, s, c30);
    c31 = madd(b1, s, c31);
    a += 16;
    b += 32;
  }
  const al = f32x4.splat(alpha);
  const ld = <usize>ldc << 2;
  if (beta == 0) {
    v128.store(C, f32x4.mul(al, c00));
    v128.store(C, f32x4.mul(al, c01), 16);
    v128.store(C + ld, f32x4.mul(al, c10));
    v128.store(C + ld, f32x4.mul(al, c11), 16);
    v128.store(C + 2 * ld, f32x4.mul(al, c20));
    v128.store(C + 2 * ld, f32x4.mul(al, c21), 16);
    v128.store(C + 3 * ld, f32x4.mul(al, c30));
    v128.store(C + 3 * ld, f32x4.mul(al, c31), 16);
  } else {
    const be = f32x4.splat(beta);
    v128.store(C, f32x4.add(f32x4.mul(al, c00), f32x4.mul(be, v128.load(C))));
    v128.store(C, f32x4.add(f32x4.mul(al, c01), f32x4.mul(be, v128.load(C, 16))), 16);
    v128.store(C + ld, f32x4.add(f32x4.mul(al, c10), f32x4.mul(be, v128.load(C + ld))));
    v128.store(C + ld, f32x4.add(f32x4.mul(al, c11), f32x4.mul(be, v128.load(C + ld, 16))), 16);
    v128.store(C + 2 * ld, f32x4.add(f32x4.mul(al, c20), f32x4.mul(be, v128.load(C + 2 * ld))));
    v128.store(C + 2 * ld, f32x4.add(f32x4.mul(al, c21), f32x4.mul(be, v128.load(C + 2 * ld, 16))), 16);
    v128.store(C + 3 * ld, f32x4.add(f32x4.mul(al, c30), f32x4.mul(be, v128.load(C + 3 * ld))));
    v128.store(C + 3 * ld, f32x4.add(f32x4.mul(al, c31), f32x4.mul(be, v128.load(C + 3 * ld, 16))), 16);
  }
}

/** Bytes of packing scratch gemmRange needs at `work` (64-byte aligned). */
export function workBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) << 2;
}

/**
 * Rows [i0, i1) and columns [j0, j1) of C[M×N] = alpha·op(A)·op(B) + beta·C; A, B, C, work are
 * byte addresses in this memory. i0 must be a multiple of MR and j0 of NR (the tile grid).
 */
export function gemmRange(
  transA: bool, transB: bool, M: i32, N: i32, K: i32, alpha: f32, A: usize, B: usize, beta: f32, C: usize,
  i0: i32, i1: i32, j0: i32, j1: i32, work: usize,
): void {
  const bufA = work;
  const bufB = bufA + (<usize>(MC * KC) << 2);
  const edge = bufB + (<usize>(KC * NC) << 2);
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(j1 - jc, NC);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(K - pc, KC);
      const b: f32 = pc == 0 ? beta : 1;
      packB(B, transB, N, K, jc, nc, pc, kc, bufB);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(i1 - ic, MC);
        packA(A, transA, M, K, ic, mc, pc, kc, bufA);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(nc - jr, NR);
          const Bp = bufB + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(mc - ir, MR);
            const Ap = bufA + (<usize>(ir * kc) << 2);
            const ct = C + (<usize>((ic + ir) * N + jc + jr) << 2);
            if (rows == MR && cols == NR) {
              tile(kc, Ap, Bp, ct, N, alpha, b);
            } else {
              // Same arithmetic as a full tile, on a padded copy.
              memory.fill(edge, 0, MR * NR * 4);
              if (b != 0) for (let r = 0; r < rows; r++) memory.copy(edge + (<usize>(r * NR) << 2), ct + (<usize>(r * N) << 2), cols << 2);
              tile(kc, Ap, Bp, edge, NR, alpha, b);
              for (let r = 0; r < rows; r++) memory.copy(ct + (<usize>(r * N) << 2), edge + (<usize>(r * NR) << 2), cols << 2);
            }
          }
        }
      }
    }
  }
}
