// Sweeps: every sweep with its status, trial counts by state and best objective; polled while any
// of them runs.
import type { SweepSummary } from '../../client/index.js';
import { errorText, h, isAbort, type View } from '../dom.js';
import { fmtNumber, fmtTime } from '../format.js';
import type { Session } from '../session.js';
import { statusBadge } from './jobs.js';

const POLL_MS = 3000;

/** "3 completed · 1 pruned · 2 running": the non-zero counts. */
export function fmtCounts(counts: SweepSummary['counts']): string {
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state}`);
  return parts.length > 0 ? parts.join(' · ') : '–';
}

export function fmtSweepBest(best: SweepSummary['best']): string {
  if (best === null || best.objective === null) return '–';
  return `${fmtNumber(best.objective)} (trial ${best.trial}${best.objectiveEpoch !== null ? ` @ ${best.objectiveEpoch}` : ''})`;
}

export function sweepsView(session: Session): View {
  const stop = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const message = h('p', { class: 'muted' }, 'Loading…');
  const tbody = h('tbody');
  const el = h(
    'section',
    { class: 'view sweeps-view' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Sweeps')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'sweeps' }, h('thead', {}, h('tr', {}, ['Sweep', 'Status', 'Trials', 'Best objective', 'Created'].map((t) => h('th', {}, t)))), tbody)),
    message,
  );

  function render(sweeps: SweepSummary[]): void {
    tbody.replaceChildren(
      ...sweeps.map((s) =>
        h(
          'tr',
          { 'data-sweep': s.id },
          h('td', { class: 'job' }, h('a', { href: `#/sweep/${s.id}` }, s.name ?? s.id), h('div', { class: 'id' }, s.id)),
          h('td', {}, statusBadge(s.status, s.reason)),
          h('td', { class: 'counts' }, fmtCounts(s.counts)),
          h('td', { class: 'best' }, fmtSweepBest(s.best)),
          h('td', { class: 'created' }, fmtTime(s.createdAt)),
        ),
      ),
    );
    message.className = 'muted';
    message.textContent = sweeps.length === 0 ? 'No sweeps yet: submit one with POST /v1/sweeps or `traind sweep submit`.' : '';
  }

  async function poll(): Promise<void> {
    let again = true;
    try {
      const sweeps = await session.call((c) => c.listSweeps());
      if (stop.signal.aborted) return;
      render(sweeps);
      again = sweeps.some((s) => s.status === 'running' || s.status === 'cancelling');
    } catch (err) {
      if (stop.signal.aborted || isAbort(err)) return;
      message.className = 'error';
      message.textContent = `Could not list sweeps: ${errorText(err)}`;
    }
    if (again && !stop.signal.aborted) timer = setTimeout(() => void poll(), POLL_MS);
  }
  void poll();

  return {
    el,
    dispose() {
      stop.abort();
      clearTimeout(timer);
    },
  };
}
