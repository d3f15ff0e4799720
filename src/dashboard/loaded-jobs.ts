// The jobs list as a person pages through it: the newest page, then older pages on request, kept
// fresh by polling. The API's cursor is a job id (a page lists the ids below it), so every request
// covers a range of ids, and its answer replaces exactly the rows in that range, merged by id:
// a refresh never drops an older page already loaded, and no job is ever listed twice.

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** One request for a page: the jobs older than `cursor` (undefined: the newest), at most `limit`. */
export type FetchPage<T> = (cursor: string | undefined, limit: number) => Promise<Page<T>>;

/** Ids from `from` (inclusive; null: no lower bound) to `below` (exclusive; null: no upper bound). */
export interface IdRange {
  from: string | null;
  below: string | null;
}

export const PAGE_SIZE = 50;
/** The API's largest page: re-reading many loaded pages takes as few requests as it can. */
const REFRESH_PAGE_SIZE = 100;

function inRange(id: string, r: IdRange): boolean {
  return (r.from === null || id >= r.from) && (r.below === null || id < r.below);
}

/** The shown jobs with those in `range` replaced by `fetched`, newest (highest id) first, as the API orders them. */
export function mergeRange<T extends { id: string }>(shown: readonly T[], fetched: readonly T[], range: IdRange): T[] {
  const byId = new Map<string, T>();
  for (const j of shown) if (!inRange(j.id, range)) byId.set(j.id, j);
  for (const j of fetched) if (inRange(j.id, range)) byId.set(j.id, j);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

export class LoadedJobs<T extends { id: string }> {
  /** What the list shows, newest first. */
  items: T[] = [];
  /**
   * The oldest id loaded: every job from it up is shown, and it is the cursor for the next older
   * page. Null once the oldest job is shown; undefined until the first page arrives.
   */
  private floor: string | null | undefined = undefined;
  /** Until older jobs are asked for, the list is the newest page alone, its floor moving with it. */
  private paged = false;
  private loadingOlder = false;

  constructor(private readonly fetchPage: FetchPage<T>) {}

  /** True while older jobs exist beyond those shown (as of the last page read). */
  get hasOlder(): boolean {
    return typeof this.floor === 'string';
  }

  /** Re-reads the jobs shown: the newest page, or once paged, every job down to the floor. */
  async refresh(): Promise<void> {
    if (!this.paged) {
      const page = await this.fetchPage(undefined, PAGE_SIZE);
      // An older page may have been asked for meanwhile: then merge rather than replace it.
      if (this.paged) {
        this.items = mergeRange(this.items, page.items, { from: page.nextCursor, below: null });
      } else {
        this.items = page.items;
        this.floor = page.nextCursor;
      }
      return;
    }
    const floor = this.floor ?? null;
    const fetched: T[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.fetchPage(cursor, REFRESH_PAGE_SIZE);
      fetched.push(...page.items);
      const next = page.nextCursor;
      if (next === null || page.items.length === 0 || next === cursor || (floor !== null && next <= floor)) break;
      cursor = next;
    }
    this.items = mergeRange(this.items, fetched, { from: floor, below: null });
  }

  /** Appends the next older page; returns its jobs (empty when there is none or one is already loading). */
  async loadOlder(): Promise<T[]> {
    const cursor = this.floor;
    if (typeof cursor !== 'string' || this.loadingOlder) return [];
    this.loadingOlder = true;
    this.paged = true;
    try {
      const page = await this.fetchPage(cursor, PAGE_SIZE);
      this.items = mergeRange(this.items, page.items, { from: page.nextCursor, below: cursor });
      this.floor = page.nextCursor;
      return page.items;
    } finally {
      this.loadingOlder = false;
    }
  }
}
