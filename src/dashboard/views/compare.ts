// Compare: one metric of two or more jobs overlaid over epochs (#/compare?ids=a,b&metric=val_loss),
// the jobs picked from the recent ones; refreshed while any of them still trains.
import type { JobSummary, MetricsRecord } from '../../client/index.js';
import { recentJobs, TERMINAL } from '../api.js';
import { EpochChart, PALETTE } from '../charts.js';
import { errorText, h, type View } from '../dom.js';
import { fmtBest } from '../format.js';
import type { Session } from '../session.js';
import { statusBadge } from './jobs.js';

const REFRESH_MS = 3000;
const NOT_METRICS = new Set(['epoch', 'step', 'attempt', 'seconds']);

function compareHash(ids: string[], metric: string | null): string {
  const q = new URLSearchParams();
  if (ids.length > 0) q.set('ids', ids.join(','));
  if (metric !== null) q.set('metric', metric);
  return `#/compare${q.size > 0 ? `?${q.toString().replaceAll('%2C', ',')}` : ''}`;
}

export function compareView(session: Session, params: URLSearchParams): View {
  const ids = (params.get('ids') ?? '').split(',').filter((s) => /^job_[A-Za-z0-9]+$/.test(s));
  let metric = params.get('metric');
  const stop = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let chart: EpochChart | null = null;
  let chartKey = '';

  const picker = h('tbody');
  const metricSelect = h('select', { id: 'compare-metric', 'aria-label': 'metric', onchange: (e: Event) => (location.hash = compareHash(ids, (e.target as HTMLSelectElement).value)) });
  const chartHolder = h('div', { class: 'card chart-card' });
  const message = h('p', { class: 'muted' });
  const el = h(
    'section',
    { class: 'view compare-view' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Compare'), h('label', {}, 'metric ', metricSelect)),
    message,
    chartHolder,
    h('div', { class: 'card' }, h('h2', {}, 'Jobs'), h('div', { class: 'table-wrap flat' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'job'), h('th', {}, 'status'), h('th', {}, 'best'))), picker))),
  );

  function renderPicker(jobs: JobSummary[]): void {
    picker.replaceChildren(
      ...jobs.map((j) =>
        h(
          'tr',
          {},
          h(
            'td',
            {},
            h('input', {
              type: 'checkbox',
              checked: ids.includes(j.id),
              'aria-label': `compare ${j.id}`,
              onchange: (e: Event) => {
                const on = (e.target as HTMLInputElement).checked;
                location.hash = compareHash(on ? [...ids, j.id] : ids.filter((x) => x !== j.id), metric);
              },
            }),
          ),
          h('td', {}, h('a', { href: `#/job/${j.id}` }, j.name ?? j.id), h('div', { class: 'id' }, j.id)),
          h('td', {}, statusBadge(j.status, j.reason)),
          h('td', {}, fmtBest(j)),
        ),
      ),
    );
  }

  function renderChart(jobs: JobSummary[], series: MetricsRecord[][]): void {
    const names = new Set<string>();
    for (const records of series) for (const r of records) for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && !NOT_METRICS.has(k)) names.add(k);
    const options = [...names].sort();
    if (metric === null || !names.has(metric)) metric = names.has('val_loss') ? 'val_loss' : (options.includes('loss') ? 'loss' : (options[0] ?? null));
    metricSelect.replaceChildren(...options.map((m) => h('option', { value: m, selected: m === metric }, m)));
    if (metric === null) return;
    const key = `${metric}|${jobs.map((j) => j.id).join(',')}`;
    if (key !== chartKey) {
      chart?.destroy();
      chart = new EpochChart(metric, jobs.map((j, i) => ({ label: j.name ? `${j.name} (${j.id.slice(-6)})` : j.id, color: PALETTE[i % PALETTE.length]! })));
      chartKey = key;
      chartHolder.replaceChildren(chart.el);
    }
    const m = metric;
    const maxEpoch = series.reduce((max, records) => records.reduce((m, r) => Math.max(m, r.epoch), max), 0);
    const epochs = Array.from({ length: maxEpoch }, (_, i) => i + 1);
    chart!.setData(
      epochs,
      series.map((records) => {
        const byEpoch = new Map(records.map((r) => [r.epoch, (r as Record<string, unknown>)[m] as number | undefined]));
        return epochs.map((e) => byEpoch.get(e) ?? null);
      }),
    );
    el.dataset.series = String(series.length);
  }

  async function load(): Promise<void> {
    try {
      const recent = await recentJobs(session, null);
      if (stop.signal.aborted) return;
      renderPicker(recent);
      const jobs = await Promise.all(ids.map((id) => recent.find((j) => j.id === id) ?? session.call((c) => c.getJob(id))));
      const series = await Promise.all(ids.map((id) => session.call((c) => c.allMetrics(id))));
      if (stop.signal.aborted) return;
      message.className = 'muted';
      message.textContent = ids.length < 2 ? 'Pick two or more jobs below to overlay their curves.' : '';
      if (ids.length > 0) renderChart(jobs, series);
      if (jobs.some((j) => !TERMINAL.has(j.status))) timer = setTimeout(() => void load(), REFRESH_MS);
    } catch (err) {
      if (stop.signal.aborted) return;
      message.className = 'error';
      message.textContent = `Could not load: ${errorText(err)}`;
    }
  }
  void load();

  return {
    el,
    dispose() {
      stop.abort();
      clearTimeout(timer);
      chart?.destroy();
    },
  };
}
