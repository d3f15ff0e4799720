// A sweep (#/sweep/ID): its counts, the leaderboard (trials ranked by objective, with their
// parameters, epochs, state and job), the objective against each parameter, every trial's
// objective per epoch overlaid, and Cancel; refreshed while it runs.
import type { components, MetricsRecord, Sweep } from '../../client/index.js';
import { EpochChart, PALETTE } from '../charts.js';
import { errorText, h, isAbort, type View } from '../dom.js';
import { fmtNumber, fmtTime } from '../format.js';
import { ScatterChart } from '../scatter.js';
import type { Session } from '../session.js';
import { statusBadge } from './jobs.js';
import { fmtCounts, fmtSweepBest } from './sweeps.js';

const REFRESH_MS = 3000;
type SweepTrial = components['schemas']['SweepTrial'];

function fmtParam(v: unknown): string {
  return typeof v === 'number' ? String(Number(v.toPrecision(4))) : JSON.stringify(v);
}

function objectiveOf(sweep: Sweep): { metric: string; mode: string } {
  const o = sweep.spec.objective as { metric?: string; mode?: string } | undefined;
  return { metric: o?.metric ?? 'objective', mode: o?.mode ?? 'min' };
}

export function sweepView(session: Session, id: string): View {
  const stop = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let curves: EpochChart | null = null;
  let curvesKey = '';
  const scatters = new Map<string, ScatterChart>();
  /** Metrics of trials whose jobs have ended do not change: fetched once. */
  const finished = new Map<string, MetricsRecord[]>();

  const title = h('h1', {}, id);
  const badge = h('span');
  const cancel = h('button', { type: 'button', class: 'danger', hidden: true, onclick: () => void doCancel() }, 'Cancel sweep');
  const facts = h('dl', { class: 'facts' });
  const message = h('p', { class: 'muted' }, 'Loading…');
  const thead = h('thead');
  const tbody = h('tbody');
  const scatterGrid = h('div', { class: 'grid' });
  const curvesHolder = h('div', { class: 'card chart-card' });
  const el = h(
    'section',
    { class: 'view sweep-view' },
    h('div', { class: 'toolbar' }, title, badge, cancel),
    message,
    h('div', { class: 'card' }, facts),
    h('div', { class: 'card' }, h('h2', {}, 'Leaderboard'), h('div', { class: 'table-wrap flat' }, h('table', { class: 'leaderboard' }, thead, tbody))),
    h('div', { class: 'charts' }, curvesHolder, scatterGrid),
  );

  function renderSummary(s: Sweep, metric: string, mode: string): void {
    title.textContent = s.name ?? s.id;
    badge.replaceChildren(statusBadge(s.status, s.reason));
    cancel.hidden = s.status !== 'running';
    facts.replaceChildren(
      ...[
        ['id', s.id],
        ['objective', `${metric} (${mode})`],
        ['trials', fmtCounts(s.counts)],
        ['best', fmtSweepBest(s.best)],
        ['epochs trained', String(s.totalEpochs)],
        ['created', fmtTime(s.createdAt)],
        ['finished', fmtTime(s.finishedAt)],
      ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    );
  }

  function renderLeaderboard(s: Sweep, paths: string[], metric: string): void {
    thead.replaceChildren(h('tr', {}, ['#', 'trial', metric, ...paths, 'epochs', 'state', 'job'].map((t) => h('th', {}, t))));
    tbody.replaceChildren(
      ...s.leaderboard.map((t, rank) =>
        h(
          'tr',
          { 'data-trial': t.trial },
          h('td', {}, rank + 1),
          h('td', {}, t.trial),
          h('td', { class: 'objective' }, t.objective === null ? '–' : `${fmtNumber(t.objective)}${t.objectiveEpoch !== null ? ` @ ${t.objectiveEpoch}` : ''}`),
          paths.map((p) => h('td', { class: 'mono' }, fmtParam(t.params[p]))),
          h('td', {}, t.epochs),
          h('td', {}, statusBadge(t.state, t.reason ?? t.error)),
          h('td', {}, t.jobId === null ? '–' : h('a', { href: `#/job/${t.jobId}`, class: 'mono' }, t.jobId)),
        ),
      ),
    );
    el.dataset.trials = String(s.leaderboard.length);
  }

  function renderScatters(s: Sweep, paths: string[], metric: string): void {
    const space = (s.spec.space ?? {}) as Record<string, Record<string, unknown>>;
    paths.forEach((p, i) => {
      let chart = scatters.get(p);
      if (chart === undefined) {
        chart = new ScatterChart(p, metric, PALETTE[i % PALETTE.length]!, { log: 'loguniform' in (space[p] ?? {}) });
        scatters.set(p, chart);
        scatterGrid.append(h('div', { class: 'card chart-card' }, chart.el));
      }
      chart.setData(s.leaderboard.filter((t) => t.objective !== null && p in t.params).map((t) => ({ param: t.params[p], objective: t.objective! })));
    });
  }

  async function renderCurves(trials: SweepTrial[], metric: string): Promise<void> {
    const withJobs = trials.filter((t) => t.jobId !== null).sort((a, b) => a.trial - b.trial);
    const series = await Promise.all(
      withJobs.map(async (t) => {
        const done = finished.get(t.jobId!);
        if (done !== undefined) return done;
        const records = await session.call((c) => c.allMetrics(t.jobId!));
        if (t.state !== 'queued' && t.state !== 'running') finished.set(t.jobId!, records);
        return records;
      }),
    );
    if (stop.signal.aborted) return;
    const key = withJobs.map((t) => t.trial).join(',');
    if (key !== curvesKey) {
      curves?.destroy();
      curves = new EpochChart(`${metric} per epoch`, withJobs.map((t, i) => ({ label: `trial ${t.trial}`, color: PALETTE[i % PALETTE.length]!, dashed: t.state === 'pruned' })));
      curves.el.dataset.chart = 'curves';
      curvesKey = key;
      curvesHolder.replaceChildren(curves.el);
    }
    const maxEpoch = series.reduce((max, records) => records.reduce((m, r) => Math.max(m, r.epoch), max), 0);
    const epochs = Array.from({ length: maxEpoch }, (_, i) => i + 1);
    curves!.setData(
      epochs,
      series.map((records) => {
        const byEpoch = new Map(records.map((r) => [r.epoch, (r as Record<string, unknown>)[metric]]));
        return epochs.map((e) => {
          const v = byEpoch.get(e);
          return typeof v === 'number' ? v : null;
        });
      }),
    );
    el.dataset.curves = String(series.filter((r) => r.length > 0).length);
  }

  async function load(): Promise<void> {
    let again = true;
    try {
      const s = await session.call((c) => c.getSweep(id));
      if (stop.signal.aborted) return;
      const { metric, mode } = objectiveOf(s);
      const paths = Object.keys((s.spec.space ?? {}) as Record<string, unknown>);
      renderSummary(s, metric, mode);
      renderLeaderboard(s, paths, metric);
      renderScatters(s, paths, metric);
      await renderCurves(s.leaderboard, metric);
      if (stop.signal.aborted) return;
      message.className = 'muted';
      message.textContent = s.leaderboard.length === 0 ? 'No trial has started yet.' : '';
      again = s.status === 'running' || s.status === 'cancelling';
    } catch (err) {
      if (stop.signal.aborted || isAbort(err)) return;
      message.className = 'error';
      message.textContent = `Could not load the sweep: ${errorText(err)}`;
    }
    if (again && !stop.signal.aborted) timer = setTimeout(() => void load(), REFRESH_MS);
  }

  async function doCancel(): Promise<void> {
    cancel.disabled = true;
    try {
      await session.call((c) => c.cancelSweep(id));
      clearTimeout(timer);
      await load();
    } catch (err) {
      message.className = 'error';
      message.textContent = `Could not cancel: ${errorText(err)}`;
    } finally {
      cancel.disabled = false;
    }
  }

  void load();

  return {
    el,
    dispose() {
      stop.abort();
      clearTimeout(timer);
      curves?.destroy();
      for (const c of scatters.values()) c.destroy();
    },
  };
}
