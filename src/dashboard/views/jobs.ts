// Jobs: the newest page of jobs, and older pages on request ("Load older jobs"), with status,
// dataset, progress (epochs and the epoch in progress), best monitored value, backend and creation
// time; filtered by status; kept live by polling the pages loaded and following the events of
// running jobs (for the within-epoch bars).
import type { JobStatus, JobSummary } from '../../client/index.js';
import { followLive, jobsPage, STATUSES } from '../api.js';
import { errorText, h, isAbort, type View } from '../dom.js';
import { fmtBest, fmtDataset, fmtTime } from '../format.js';
import { LoadedJobs } from '../loaded-jobs.js';
import { ProgressView } from '../progress.js';
import type { Session } from '../session.js';

const POLL_MS = 2000;
/** Browsers allow 6 connections per host over HTTP/1.1: leave room for the page's own requests. */
const MAX_FOLLOWED = 3;

interface Row {
  tr: HTMLTableRowElement;
  /** Made once and kept: a link replaced at every poll would take the keyboard focus with it. */
  link: HTMLAnchorElement;
  cells: { status: HTMLElement; dataset: HTMLElement; best: HTMLElement; backend: HTMLElement; created: HTMLElement };
  progress: ProgressView;
  select: HTMLInputElement;
}

export function statusBadge(status: string, reason: string | null | undefined): HTMLElement {
  return h('span', { class: `badge ${status}`, title: reason ?? '' }, status, reason ? h('small', {}, ` ${reason}`) : null);
}

export function jobsView(session: Session, params: URLSearchParams): View {
  const status = STATUSES.includes(params.get('status') as JobStatus) ? (params.get('status') as JobStatus) : null;
  const stop = new AbortController();
  const rows = new Map<string, Row>();
  const followed = new Map<string, AbortController>();
  const selected = new Set<string>();
  const loaded = new LoadedJobs((cursor, limit) => jobsPage(session, status, cursor, limit));
  /** Why the last older page failed, shown by the button until one loads (a poll would wipe `message`). */
  let olderError: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const filter = h(
    'select',
    {
      id: 'status-filter',
      'aria-label': 'status',
      onchange: (e: Event) => {
        const v = (e.target as HTMLSelectElement).value;
        location.hash = v === '' ? '#/jobs' : `#/jobs?status=${v}`;
      },
    },
    h('option', { value: '' }, 'all statuses'),
    STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)),
  );
  const compare = h('button', { type: 'button', disabled: true, onclick: () => (location.hash = `#/compare?ids=${[...selected].join(',')}`) }, 'Compare selected');
  const message = h('p', { class: 'muted' }, 'Loading…');
  const older = h('button', { type: 'button', id: 'load-older', hidden: true, onclick: () => void loadOlder() }, 'Load older jobs');
  const shown = h('span', { class: 'muted', role: 'status' });
  const more = h('div', { class: 'more', hidden: true }, older, shown);
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'jobs' },
    h('thead', {}, h('tr', {}, h('th', { class: 'sel' }, ''), ['Job', 'Status', 'Dataset', 'Progress', 'Best', 'Backend', 'Created'].map((t) => h('th', { class: t.toLowerCase() }, t)))),
    tbody,
  );
  const el = h(
    'section',
    { class: 'view jobs-view' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Jobs'), filter, compare, h('a', { class: 'button primary', href: '#/submit' }, 'New job')),
    h('div', { class: 'table-wrap' }, table),
    more,
    message,
  );

  function updateCompare(): void {
    compare.disabled = selected.size < 2;
    compare.textContent = selected.size >= 2 ? `Compare ${selected.size} jobs` : 'Compare selected';
  }

  function rowFor(j: JobSummary): Row {
    let row = rows.get(j.id);
    if (row !== undefined) return row;
    const select = h('input', {
      type: 'checkbox',
      'aria-label': `select ${j.id}`,
      onchange: (e: Event) => {
        if ((e.target as HTMLInputElement).checked) selected.add(j.id);
        else selected.delete(j.id);
        updateCompare();
      },
    });
    const progress = new ProgressView();
    const link = h('a', { href: `#/job/${j.id}` });
    const cells = { status: h('td'), dataset: h('td', { class: 'dataset' }), best: h('td', { class: 'best' }), backend: h('td', { class: 'backend' }), created: h('td', { class: 'created' }) };
    const tr = h('tr', { 'data-job': j.id }, h('td', { class: 'sel' }, select), h('td', { class: 'job' }, link, h('div', { class: 'id' }, j.id)), cells.status, cells.dataset, h('td', { class: 'progress-cell' }, progress.el), cells.best, cells.backend, cells.created);
    row = { tr, link, cells, progress, select };
    rows.set(j.id, row);
    return row;
  }

  function render(jobs: JobSummary[]): void {
    const seen = new Set<string>();
    for (const j of jobs) {
      seen.add(j.id);
      const row = rowFor(j);
      row.link.textContent = j.name ?? j.id;
      row.cells.status.replaceChildren(statusBadge(j.status, j.reason));
      row.cells.dataset.textContent = fmtDataset(j.dataset);
      row.progress.setEpochs(j.progress.epoch, j.progress.epochs, j.status === 'running');
      row.cells.best.textContent = fmtBest(j);
      row.cells.backend.textContent = j.backend ?? '–';
      row.cells.created.textContent = fmtTime(j.createdAt);
    }
    for (const [id, row] of rows) {
      if (!seen.has(id)) {
        row.tr.remove();
        rows.delete(id);
        selected.delete(id);
      }
    }
    // Newest first, as the API lists them. A row moves only when out of place: moving it would take
    // the keyboard focus out of it at every poll.
    let at: ChildNode | null = tbody.firstChild;
    for (const j of jobs) {
      const tr = rows.get(j.id)!.tr;
      if (tr === at) at = at.nextSibling;
      else tbody.insertBefore(tr, at);
    }
    message.className = 'muted';
    message.textContent = jobs.length === 0 ? (status === null ? 'No jobs yet: submit one.' : `No ${status} jobs.`) : '';
    older.hidden = !loaded.hasOlder;
    const what = `${status ?? ''} ${jobs.length === 1 ? 'job' : 'jobs'}`.trim();
    shown.className = olderError === null ? 'muted' : 'error';
    shown.textContent = olderError ?? (loaded.hasOlder ? `Showing the newest ${jobs.length} ${what}.` : jobs.length > 1 ? `All ${jobs.length} ${what} shown.` : '');
    more.hidden = older.hidden && shown.textContent === '';
    updateCompare();
    followRunning(jobs);
  }

  /** Follows the events of (up to MAX_FOLLOWED) running jobs for their within-epoch progress. */
  function followRunning(jobs: JobSummary[]): void {
    const running = new Set(jobs.filter((j) => j.status === 'running').map((j) => j.id));
    for (const [id, ctl] of followed) {
      if (!running.has(id)) {
        ctl.abort();
        followed.delete(id);
      }
    }
    for (const id of running) {
      if (followed.has(id) || followed.size >= MAX_FOLLOWED) continue;
      const ctl = new AbortController();
      followed.set(id, ctl);
      void followLive(session, id, ctl.signal, {
        progress: (p) => rows.get(id)?.progress.setWithin(p),
      }).finally(() => {
        if (followed.get(id) === ctl) followed.delete(id);
      });
    }
  }

  async function loadOlder(): Promise<void> {
    // aria-disabled rather than disabled: a disabled button would lose the keyboard focus.
    if (older.getAttribute('aria-disabled') === 'true') return;
    older.setAttribute('aria-disabled', 'true');
    older.textContent = 'Loading older jobs…';
    try {
      const page = await loaded.loadOlder();
      if (stop.signal.aborted) return;
      const focused = document.activeElement === older;
      olderError = null;
      render(loaded.items);
      // At the end the button goes: put the keyboard where the new rows begin rather than nowhere.
      const first = page[0];
      if (focused && older.hidden && first !== undefined) rows.get(first.id)?.link.focus();
    } catch (err) {
      if (stop.signal.aborted || isAbort(err)) return;
      olderError = `Could not load older jobs: ${errorText(err)}`;
      render(loaded.items);
    } finally {
      older.removeAttribute('aria-disabled');
      older.textContent = 'Load older jobs';
    }
  }

  async function poll(): Promise<void> {
    try {
      await loaded.refresh();
      if (!stop.signal.aborted) render(loaded.items);
    } catch (err) {
      if (stop.signal.aborted || isAbort(err)) return;
      message.textContent = `Could not list jobs: ${errorText(err)}`;
      message.className = 'error';
    }
    if (!stop.signal.aborted) timer = setTimeout(() => void poll(), POLL_MS);
  }
  void poll();

  return {
    el,
    dispose() {
      stop.abort();
      clearTimeout(timer);
      for (const ctl of followed.values()) ctl.abort();
    },
  };
}
