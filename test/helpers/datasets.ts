// Small deterministic datasets for tests that upload one.

/** `n` rows of x,y with label 1 inside the circle of radius 2: CSV with a header row. */
export function circleCsv(n: number): string {
  const rows = ['x,y,label'];
  for (let i = 0; i < n; i++) {
    const x = Math.cos(i * 1.7) * (1 + (i % 3));
    const y = Math.sin(i * 2.3) * (1 + (i % 5));
    rows.push(`${x.toFixed(4)},${y.toFixed(4)},${x * x + y * y < 4 ? 1 : 0}`);
  }
  return rows.join('\n');
}
