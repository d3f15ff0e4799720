// The dashboard's paged jobs list against an in-memory list paged as GET /v1/jobs pages it (newest
// first, `cursor` = the last id of a page, the next page the ids below it): older pages appended,
// refreshes that keep them, and no job listed twice or skipped, with requests racing.
import { describe, expect, it } from 'vitest';
import { LoadedJobs, mergeRange, type FetchPage } from '../../src/dashboard/loaded-jobs.js';

interface Job {
  id: string;
  status: string;
}

const idOf = (n: number): string => `job_${String(n).padStart(26, '0')}`;

/** A server's job list: ids 1…n, the highest newest; counts the requests. */
function server(n: number) {
  const jobs = new Map<string, Job>();
  const add = (count: number) => {
    const start = jobs.size + 1;
    for (let i = start; i < start + count; i++) jobs.set(idOf(i), { id: idOf(i), status: 'queued' });
  };
  add(n);
  const s = {
    jobs,
    add,
    requests: 0,
    fetchPage: (async (cursor, limit) => {
      s.requests++;
      const below = [...jobs.values()].filter((j) => cursor === undefined || j.id < cursor).sort((a, b) => (a.id < b.id ? 1 : -1));
      const items = below.slice(0, limit).map((j) => ({ ...j }));
      return { items, nextCursor: below.length > limit ? items[items.length - 1]!.id : null };
    }) as FetchPage<Job>,
  };
  return s;
}

/** The ids from `hi` down to `lo`, newest first, as the list should show them. */
const ids = (hi: number, lo: number): string[] => Array.from({ length: hi - lo + 1 }, (_, i) => idOf(hi - i));

describe('LoadedJobs', () => {
  it('shows the newest page, appends older pages on request, and knows when the oldest is shown', async () => {
    const api = server(120);
    const list = new LoadedJobs(api.fetchPage);
    await list.refresh();
    expect(list.items.map((j) => j.id)).toEqual(ids(120, 71));
    expect(list.hasOlder).toBe(true);
    expect((await list.loadOlder()).map((j) => j.id)).toEqual(ids(70, 21));
    expect(list.hasOlder).toBe(true);
    await list.loadOlder();
    expect(list.items.map((j) => j.id)).toEqual(ids(120, 1));
    expect(list.hasOlder).toBe(false);
    expect(await list.loadOlder()).toEqual([]);
    expect(api.requests).toBe(3);
  });

  it('a refresh after paging re-reads every loaded job (100 a request) and keeps the older pages: new jobs on top, changes anywhere, expired ones gone', async () => {
    const api = server(130);
    const list = new LoadedJobs(api.fetchPage);
    await list.refresh();
    await list.loadOlder();
    await list.loadOlder();
    expect(list.items).toHaveLength(130);
    api.add(3);
    api.jobs.get(idOf(5))!.status = 'cancelled';
    api.jobs.delete(idOf(60));
    api.requests = 0;
    await list.refresh();
    expect(list.items.map((j) => j.id)).toEqual(ids(133, 1).filter((id) => id !== idOf(60)));
    expect(list.items.find((j) => j.id === idOf(5))!.status).toBe('cancelled');
    expect(api.requests).toBe(2);
    expect(list.hasOlder).toBe(false);
  });

  it('stops re-reading at the oldest job loaded, and the next older page starts right below it', async () => {
    const api = server(200);
    const list = new LoadedJobs(api.fetchPage);
    await list.refresh();
    await list.loadOlder();
    api.add(10);
    await list.refresh();
    expect(list.items.map((j) => j.id)).toEqual(ids(210, 101));
    expect((await list.loadOlder()).map((j) => j.id)).toEqual(ids(100, 51));
    expect(new Set(list.items.map((j) => j.id)).size).toBe(list.items.length);
  });

  it('before any paging the list is the newest page alone, and the older page continues where it ends', async () => {
    const api = server(60);
    const list = new LoadedJobs(api.fetchPage);
    await list.refresh();
    api.add(5);
    await list.refresh();
    expect(list.items.map((j) => j.id)).toEqual(ids(65, 16));
    await list.loadOlder();
    expect(list.items.map((j) => j.id)).toEqual(ids(65, 1));
  });

  it('requests that overlap keep every page, without duplicates, whichever answers last', async () => {
    const api = server(80);
    // The next request asked while `hold` is set waits for release().
    let hold = false;
    let release = () => {};
    const gated: FetchPage<Job> = async (cursor, limit) => {
      const page = await api.fetchPage(cursor, limit);
      if (hold) {
        hold = false;
        await new Promise<void>((r) => (release = r));
      }
      return page;
    };
    const list = new LoadedJobs(gated);
    await list.refresh();
    api.add(2);
    // A poll of the newest page, answered after an older page asked for meanwhile.
    hold = true;
    const poll = list.refresh();
    await list.loadOlder();
    release();
    await poll;
    expect(list.items.map((j) => j.id)).toEqual(ids(82, 1));
    // An older page answered after a poll (now of every loaded job).
    const other = new LoadedJobs(gated);
    api.add(60);
    await other.refresh();
    hold = true;
    const older = other.loadOlder();
    api.add(1);
    await other.refresh();
    release();
    await older;
    expect(other.items.map((j) => j.id)).toEqual(ids(143, 43));
    expect(other.hasOlder).toBe(true);
  });
});

describe('mergeRange', () => {
  it('replaces exactly the jobs in the range and keeps the rest, newest first', () => {
    const shown = [9, 7, 5, 3, 1].map((n) => ({ id: idOf(n), v: 'old' }));
    const fetched = [8, 7, 4].map((n) => ({ id: idOf(n), v: 'new' }));
    const merged = mergeRange(shown, fetched, { from: idOf(4), below: idOf(9) });
    expect(merged).toEqual([
      { id: idOf(9), v: 'old' },
      { id: idOf(8), v: 'new' },
      { id: idOf(7), v: 'new' },
      { id: idOf(4), v: 'new' },
      { id: idOf(3), v: 'old' },
      { id: idOf(1), v: 'old' },
    ]);
  });
});
