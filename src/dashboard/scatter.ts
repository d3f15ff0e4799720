// A scatter chart (uPlot, points only): a sweep's objective against one sampled parameter. Values
// that are not numbers (a choice of strings or layers) are placed at the index of their value; a
// log-scaled parameter is drawn at its log10, its ticks labelled with the value itself.
import uPlot from 'uplot';

const HEIGHT = 220;

function tick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1e-3 || a >= 1e5) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export interface ScatterPoint {
  param: unknown;
  objective: number;
}

export class ScatterChart {
  readonly el: HTMLElement;
  private plot: uPlot;
  private readonly resize: ResizeObserver;
  private categories: string[] = [];
  private readonly log: boolean;

  constructor(param: string, objective: string, color: string, options: { log?: boolean } = {}) {
    this.log = options.log === true;
    this.el = document.createElement('div');
    this.el.className = 'chart';
    this.el.dataset.chart = `scatter ${param}`;
    this.plot = new uPlot(
      {
        title: `${objective} vs ${param}`,
        width: 400,
        height: HEIGHT,
        scales: { x: { time: false } },
        axes: [
          { label: param, values: (_u, splits) => splits.map((v) => (this.categories.length > 0 ? (this.categories[v] ?? '') : (this.log ? String(Number((10 ** v).toPrecision(2))) : tick(v)))) },
          { size: 60, values: (_u, splits) => splits.map(tick) },
        ],
        // No line between points: a trial's value is unrelated to its neighbour's.
        series: [{ label: param }, { label: objective, stroke: color, fill: color, width: 0, paths: () => null, points: { show: true, size: 8, fill: color } }],
        legend: { show: false },
      },
      [[], []],
      this.el,
    );
    this.resize = new ResizeObserver(() => {
      const width = this.el.clientWidth;
      if (width > 0 && width !== this.plot.width) this.plot.setSize({ width, height: HEIGHT });
    });
    this.resize.observe(this.el);
  }

  setData(points: ScatterPoint[]): void {
    const numeric = points.every((p) => typeof p.param === 'number' && (!this.log || p.param > 0));
    this.categories = numeric ? [] : [...new Set(points.map((p) => JSON.stringify(p.param)))].sort();
    const xy = points.map((p) => [numeric ? (this.log ? Math.log10(p.param as number) : (p.param as number)) : this.categories.indexOf(JSON.stringify(p.param)), p.objective] as const).sort((a, b) => a[0] - b[0]);
    if (!numeric) this.plot.setScale('x', { min: -0.5, max: this.categories.length - 0.5 });
    this.plot.setData([xy.map((p) => p[0]), xy.map((p) => p[1])], numeric);
    this.el.dataset.points = String(xy.length);
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot.destroy();
  }
}
