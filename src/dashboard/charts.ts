// Line charts over epochs (uPlot): a job's curves with its best epoch marked, or several jobs'
// curves overlaid. They fill their container's width and follow it when it resizes.
import uPlot from 'uplot';

export interface Line {
  label: string;
  color: string;
  dashed?: boolean;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

const HEIGHT = 240;
const EPOCH_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000];

function tick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1e-3 || a >= 1e5) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export class EpochChart {
  readonly el: HTMLElement;
  private plot: uPlot;
  private best: number | null = null;
  private readonly resize: ResizeObserver;

  constructor(
    title: string,
    lines: Line[],
    options: { log?: boolean } = {},
  ) {
    this.el = document.createElement('div');
    this.el.className = 'chart';
    const bestMarker = (u: uPlot) => {
      if (this.best === null) return;
      const x = Math.round(u.valToPos(this.best, 'x', true));
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = '#b8860b';
      ctx.fillStyle = '#b8860b';
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
      const label = ` best (epoch ${this.best}) `;
      const right = x > u.bbox.left + u.bbox.width / 2;
      const baseline = u.bbox.top + 12 * devicePixelRatio;
      // On a backdrop: when the best epoch is near an edge the label sits over the lines it marks.
      const width = ctx.measureText(label).width;
      ctx.setLineDash([]);
      ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
      ctx.fillRect(right ? x - width : x, baseline - 10 * devicePixelRatio, width, 13 * devicePixelRatio);
      ctx.fillStyle = '#b8860b';
      ctx.textAlign = right ? 'right' : 'left';
      ctx.fillText(label, x, baseline);
      ctx.restore();
    };
    this.plot = new uPlot(
      {
        title,
        width: 400,
        height: HEIGHT,
        scales: { x: { time: false }, y: options.log ? { distr: 3 } : {} },
        // Epochs are whole numbers; values keep enough digits to tell close ticks apart.
        axes: [{ label: 'epoch', incrs: EPOCH_STEPS }, { size: 60, values: (_u, splits) => splits.map(tick) }],
        series: [{ label: 'epoch' }, ...lines.map((l) => ({ label: l.label, stroke: l.color, width: 2, points: { size: 5 }, spanGaps: true, ...(l.dashed ? { dash: [8, 4] } : {}) }))],
        legend: { live: false },
        hooks: { draw: [bestMarker] },
      },
      [[], ...lines.map(() => [])],
      this.el,
    );
    this.resize = new ResizeObserver(() => {
      const width = this.el.clientWidth;
      if (width > 0 && width !== this.plot.width) this.plot.setSize({ width, height: HEIGHT });
    });
    this.resize.observe(this.el);
  }

  /** x: the epochs; ys: one array per line, null where a line has no value at that epoch. */
  setData(x: number[], ys: (number | null)[][], bestEpoch: number | null = null): void {
    this.best = bestEpoch;
    this.plot.setData([x, ...ys] as uPlot.AlignedData);
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot.destroy();
  }
}
