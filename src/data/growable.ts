// A Float32Array that grows by doubling, for parsers that do not know the row count up front.

export class GrowableFloat32 {
  private data: Float32Array;
  length = 0;

  constructor(initial = 1024) {
    this.data = new Float32Array(initial);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  /** A right-sized copy of the values pushed so far. */
  toArray(): Float32Array {
    return this.data.slice(0, this.length);
  }
}
