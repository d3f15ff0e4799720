// One job: live curves (loss and val_loss, accuracy or the regression metrics, learning rate) with
// the best epoch marked, progress within the epoch, status history with reasons, the resolved spec,
// kept checkpoints with download links, cancel, and a predict box for JSON rows.
import type { Job, MetricsRecord, PredictResponse } from '../../client/index.js';
import { checkpoints as listCheckpoints, followLive, TERMINAL, type Checkpoint } from '../api.js';
import { EpochChart, PALETTE, type Line } from '../charts.js';
import { errorText, h, type View } from '../dom.js';
import { fmtBest, fmtBytes, fmtDataset, fmtNumber, fmtTime } from '../format.js';
import { ProgressView } from '../progress.js';
import type { Session } from '../session.js';
import { statusBadge } from './jobs.js';

/** Which curves go on which chart; a chart shows only the metrics the job records. */
const CHART_GROUPS: { title: string; metrics: string[]; log?: boolean }[] = [
  { title: 'loss', metrics: ['loss', 'val_loss'] },
  { title: 'accuracy', metrics: ['accuracy', 'val_accuracy'] },
  { title: 'mae / rmse', metrics: ['mae', 'val_mae', 'rmse', 'val_rmse'] },
  { title: 'r²', metrics: ['r2', 'val_r2'] },
  { title: 'learning rate', metrics: ['lr'] },
];
const REFRESH_MS = 500;

function lineFor(metric: string, index: number): Line {
  const base = metric.replace(/^val_/, '');
  const colors: Record<string, string> = { loss: PALETTE[0]!, accuracy: PALETTE[2]!, mae: PALETTE[4]!, rmse: PALETTE[5]!, r2: PALETTE[7]!, lr: PALETTE[3]! };
  return { label: metric, color: colors[base] ?? PALETTE[index % PALETTE.length]!, dashed: metric.startsWith('val_') };
}

export function jobView(session: Session, id: string): View {
  const stop = new AbortController();
  const records = new Map<number, MetricsRecord>();
  const charts: { chart: EpochChart; metrics: string[] }[] = [];
  let job: Job | null = null;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let drawQueued = false;

  const title = h('h1', {}, id);
  const badge = h('span');
  const cancel = h('button', { type: 'button', class: 'danger', hidden: true, onclick: () => void doCancel() }, 'Cancel job');
  const notice = h('p', { class: 'error', role: 'alert', hidden: true });
  const progress = new ProgressView();
  const facts = h('dl', { class: 'facts' });
  const chartGrid = h('div', { class: 'grid charts' }, h('p', { class: 'muted' }, 'No epochs recorded yet.'));
  const history = h('tbody');
  const ckpts = h('tbody');
  const spec = h('pre', { class: 'spec' });
  const predictInput = h('textarea', { class: 'code', rows: 4, spellcheck: 'false', 'aria-label': 'rows to predict', placeholder: '[0.5, -1.2]  or  [[0.5, -1.2], [1, 0]]' });
  const predictOut = h('div', { class: 'predict-out', 'aria-live': 'polite' });
  const el = h(
    'section',
    { class: 'view job-view' },
    h('div', { class: 'toolbar' }, title, badge, cancel),
    notice,
    h('div', { class: 'card summary' }, progress.el, facts),
    chartGrid,
    h(
      'div',
      { class: 'grid' },
      h('div', { class: 'card' }, h('h2', {}, 'Status history'), h('div', { class: 'table-wrap flat' }, h('table', { class: 'history' }, h('thead', {}, h('tr', {}, h('th', {}, 'status'), h('th', {}, 'at'), h('th', {}, 'reason'), h('th', {}, 'attempt'))), history))),
      h(
        'div',
        { class: 'card' },
        h('h2', {}, 'Checkpoints'),
        h('div', { class: 'table-wrap flat' }, h('table', { class: 'checkpoints' }, h('thead', {}, h('tr', {}, h('th', {}, 'epoch'), h('th', {}, 'monitored'), h('th', {}, 'size'), h('th', {}, 'file'))), ckpts)),
      ),
      h(
        'div',
        { class: 'card' },
        h('h2', {}, 'Predict'),
        h('p', { class: 'muted' }, "One row of features as a JSON array, or several rows; answered by the job's best checkpoint."),
        predictInput,
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', id: 'predict', onclick: () => void doPredict() }, 'Predict')),
        predictOut,
      ),
      h('div', { class: 'card' }, h('h2', {}, 'Resolved spec'), spec),
    ),
  );

  function showError(text: string): void {
    notice.textContent = text;
    notice.hidden = false;
  }

  function renderJob(j: Job): void {
    job = j;
    title.textContent = j.name ?? j.id;
    badge.replaceChildren(statusBadge(j.status, j.reason));
    cancel.hidden = TERMINAL.has(j.status);
    progress.setEpochs(j.progress.epoch, j.progress.epochs, j.status === 'running');
    const fact = (k: string, v: string | null) => (v === null ? [] : [h('dt', {}, k), h('dd', {}, v)]);
    facts.replaceChildren(
      ...fact('id', j.id),
      ...fact('dataset', fmtDataset(j.dataset)),
      ...fact('best', fmtBest(j)),
      ...fact('backend', j.backend),
      ...fact('queue position', j.queuePosition !== null ? String(j.queuePosition) : null),
      ...fact('created', fmtTime(j.createdAt)),
      ...fact('started', j.startedAt ? fmtTime(j.startedAt) : null),
      ...fact('finished', j.finishedAt ? fmtTime(j.finishedAt) : null),
      ...fact('attempt', String(j.attempt)),
      ...fact('error', j.error),
    );
    history.replaceChildren(...j.history.map((e) => h('tr', {}, h('td', {}, statusBadge(e.status, null)), h('td', {}, fmtTime(e.at)), h('td', {}, e.reason ?? ''), h('td', {}, String(e.attempt)))));
    spec.textContent = JSON.stringify(j.spec, null, 2);
    queueDraw();
  }

  function renderCheckpoints(items: Checkpoint[]): void {
    if (items.length === 0) {
      ckpts.replaceChildren(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'None kept yet.')));
      return;
    }
    ckpts.replaceChildren(
      ...items.map((c) => {
        const name = `${id}-epoch-${c.epoch}.safetensors`;
        const link = h('a', { href: `/v1/jobs/${id}/checkpoints/${c.epoch}`, download: name, class: 'download', onclick: (e: Event) => void download(e, c.epoch, name) }, 'download');
        return h('tr', { 'data-epoch': c.epoch }, h('td', {}, String(c.epoch), c.best ? h('span', { class: 'badge completed' }, 'best') : null), h('td', {}, `${c.monitor} ${fmtNumber(c.value)}`), h('td', {}, fmtBytes(c.size)), h('td', {}, link));
      }),
    );
  }

  /** The bytes come through the client (with the key when there is one), saved from a blob: URL. */
  async function download(e: Event, epoch: number, name: string): Promise<void> {
    e.preventDefault();
    try {
      const bytes = await session.call((c) => c.downloadCheckpoint(id, epoch));
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const a = h('a', { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      showError(`Download failed: ${errorText(err)}`);
    }
  }

  function ensureCharts(): void {
    if (charts.length > 0 || records.size === 0) return;
    const present = new Set<string>();
    for (const r of records.values()) for (const [k, v] of Object.entries(r)) if (typeof v === 'number') present.add(k);
    chartGrid.replaceChildren();
    for (const group of CHART_GROUPS) {
      const metrics = group.metrics.filter((m) => present.has(m));
      if (metrics.length === 0) continue;
      const chart = new EpochChart(group.title, metrics.map(lineFor), { log: group.log === true });
      chart.el.dataset.chart = group.title;
      charts.push({ chart, metrics });
      chartGrid.append(h('div', { class: 'card chart-card' }, chart.el));
    }
  }

  function queueDraw(): void {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      ensureCharts();
      const epochs = [...records.keys()].sort((a, b) => a - b);
      const best = job?.best?.epoch ?? null;
      for (const { chart, metrics } of charts) {
        chart.setData(
          epochs,
          metrics.map((m) => epochs.map((e) => ((records.get(e) as Record<string, unknown> | undefined)?.[m] as number | undefined) ?? null)),
          best,
        );
      }
      el.dataset.epochs = String(epochs.length);
    });
  }

  async function refresh(): Promise<void> {
    try {
      const [j, c] = await Promise.all([session.call((cl) => cl.getJob(id)), listCheckpoints(session, id)]);
      if (stop.signal.aborted) return;
      renderJob(j);
      renderCheckpoints(c);
    } catch (err) {
      if (!stop.signal.aborted) showError(`Could not load the job: ${errorText(err)}`);
    }
  }

  /**
   * While epochs arrive: a refresh at once and one REFRESH_MS later (the job's best epoch and its
   * checkpoint are written just after the epoch's record), at most that often.
   */
  function scheduleRefresh(): void {
    if (refreshTimer !== undefined) return;
    void refresh();
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      void refresh();
    }, REFRESH_MS);
  }

  async function doCancel(): Promise<void> {
    cancel.disabled = true;
    try {
      renderJob(await session.call((c) => c.cancelJob(id)));
    } catch (err) {
      showError(`Cancel failed: ${errorText(err)}`);
    } finally {
      cancel.disabled = false;
    }
  }

  async function doPredict(): Promise<void> {
    let rows: number[][];
    try {
      const parsed = JSON.parse(predictInput.value) as unknown;
      rows = Array.isArray(parsed) && parsed.every((x) => typeof x === 'number') ? [parsed as number[]] : (parsed as number[][]);
      if (!Array.isArray(rows)) throw new Error('expected a JSON array of numbers, or an array of such arrays');
    } catch (err) {
      predictOut.replaceChildren(h('p', { class: 'error' }, `Not a JSON row: ${errorText(err)}`));
      return;
    }
    try {
      const res: PredictResponse = await session.call((c) => c.predict(id, rows));
      predictOut.replaceChildren(
        h('ol', {}, res.outputs.map((o) => h('li', {}, 'label' in o ? `label ${o.label} (p=${fmtNumber(Math.max(...o.probabilities))})` : `value ${o.value.map(fmtNumber).join(', ')}`))),
        h('p', { class: 'muted' }, `checkpoint of epoch ${res.checkpoint.epoch}`),
      );
    } catch (err) {
      predictOut.replaceChildren(h('p', { class: 'error' }, errorText(err)));
    }
  }

  void (async () => {
    await refresh();
    if (job === null || stop.signal.aborted) return;
    await followLive(session, id, stop.signal, {
      metrics: (r) => {
        records.set(r.epoch, r);
        if (job !== null && r.epoch > job.progress.epoch) progress.setEpochs(r.epoch, job.progress.epochs, true);
        queueDraw();
        scheduleRefresh();
      },
      progress: (p) => progress.setWithin(p),
      status: () => void refresh(),
      error: (err) => showError(`Live updates stopped: ${errorText(err)}`),
    });
    if (!stop.signal.aborted) await refresh();
  })();

  return {
    el,
    dispose() {
      stop.abort();
      clearTimeout(refreshTimer);
      for (const { chart } of charts) chart.destroy();
    },
  };
}
