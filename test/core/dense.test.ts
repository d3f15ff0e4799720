// The dense layer on every backend: forward against a naive product, backward by central differences.

import { describe, expect, it } from 'vitest';
import { denseBackward, denseForward } from '../../src/core/dense.js';
import { forEachBackend } from './backends.js';
import { expectGradient, randomArray, weightedSum } from './gradcheck.js';

const B = 5;
const I = 7;
const O = 3;

for (const k of forEachBackend()) {
  describe(`dense (${k.name})`, () => {
    const load = (src: Float32Array): Float32Array => {
      const out = k.alloc(src.length);
      out.set(src);
      return out;
    };

    for (const withBias of [true, false]) {
      it(`forward is X·Wᵀ${withBias ? ' + b' : ''}`, () => {
        const X = load(randomArray(B * I, 1));
        const W = load(randomArray(O * I, 2));
        const b = withBias ? load(randomArray(O, 3)) : null;
        const Z = k.alloc(B * O);
        Z.fill(Number.NaN);
        denseForward(k, X, W, b, Z, B, I, O);
        for (let r = 0; r < B; r++) {
          for (let o = 0; o < O; o++) {
            let want = b === null ? 0 : b[o]!;
            for (let i = 0; i < I; i++) want += X[r * I + i]! * W[o * I + i]!;
            expect(Z[r * O + o]).toBeCloseTo(want, 5);
          }
        }
      });

      it(`backward${withBias ? '' : ' without bias'}: dW, db, dX match central differences and dW, db accumulate`, () => {
        const X = load(randomArray(B * I, 4));
        const W = load(randomArray(O * I, 5));
        const b = withBias ? load(randomArray(O, 6)) : null;
        const c = load(randomArray(B * O, 7));
        const Z = k.alloc(B * O);
        const f = (): number => {
          denseForward(k, X, W, b, Z, B, I, O);
          return weightedSum(Z, c);
        };
        const dW = k.alloc(O * I);
        dW.fill(0);
        const db = withBias ? k.alloc(O) : null;
        db?.fill(0);
        const dX = k.alloc(B * I);
        dX.fill(Number.NaN);
        f();
        denseBackward(k, c, X, W, dW, db, dX, B, I, O);
        expectGradient(f, W, dW);
        expectGradient(f, X, dX);
        if (b !== null && db !== null) expectGradient(f, b, db);

        const once = Array.from(dW);
        denseBackward(k, c, X, W, dW, db, null, B, I, O);
        dW.forEach((v, i) => expect(v).toBeCloseTo(2 * once[i]!, 5));
      });
    }

    it('backward with overwrite gives the bits of accumulating onto zeros, whatever dW and db held', () => {
      // 300 rows: more than one K block of the native GEMM. Columns whose products cancel exactly
      // (x·1 + x·(−1)) give sums of 0, where a −0 would show.
      const rows = 300;
      const dZ = load(randomArray(rows * O, 4));
      for (let r = 0; r < rows; r++) dZ[r * O] = r % 2 === 0 ? 1 : -1;
      const X = load(randomArray(rows * I, 5));
      for (let r = 1; r < rows; r += 2) X.copyWithin(r * I, (r - 1) * I, r * I);
      const W = load(randomArray(O * I, 6));
      const want = { dW: k.alloc(O * I), db: k.alloc(O) };
      want.dW.fill(0);
      want.db.fill(0);
      denseBackward(k, dZ, X, W, want.dW, want.db, null, rows, I, O);
      const got = { dW: k.alloc(O * I), db: k.alloc(O) };
      got.dW.fill(Number.NaN);
      got.db.fill(Number.NaN);
      denseBackward(k, dZ, X, W, got.dW, got.db, null, rows, I, O, true);
      expect(want.dW.subarray(0, I).every((v) => Object.is(v, 0))).toBe(true);
      expect(Buffer.from(got.dW.buffer, got.dW.byteOffset, got.dW.byteLength).equals(Buffer.from(want.dW.buffer, want.dW.byteOffset, want.dW.byteLength))).toBe(true);
      expect(Buffer.from(got.db.buffer, got.db.byteOffset, got.db.byteLength).equals(Buffer.from(want.db.buffer, want.db.byteOffset, want.db.byteLength))).toBe(true);
    });
  });
}
