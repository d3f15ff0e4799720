// The dashboard in a real browser: headless Chromium (Debian's, through playwright-core) against a
// live service (the API in this process, a worker process from dist/, the real Redis), used as a
// person would: upload and submit from the page, watch the curves grow and the terminal status
// appear, download a checkpoint, predict, cancel another job, see a refused field at its line,
// compare, a sweep's page, a phone-sized screen, and the API key asked once. Any console error
// fails a test, except the API's deliberate refusals that Chromium itself logs (a 400, a 401).
// Screenshots go to test-artifacts/dashboard/ (gitignored).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/api/auth.js';
import { parseEventStream } from '../../src/client/index.js';
import { chromiumMissing, launchChromium } from '../helpers/browser.js';
import { circleCsv } from '../helpers/datasets.js';
import { idxFile } from '../helpers/idx.js';
import { api, repoRoot, startStack, waitForJob, type Stack } from '../integration/stack.js';

const missing = chromiumMissing();

/** The event types of a job's stream, read to its end. */
async function eventTypes(baseUrl: string, jobId: string): Promise<string[]> {
  const res = await fetch(`${baseUrl}/v1/jobs/${jobId}/events`, { signal: AbortSignal.timeout(120_000) });
  const types: string[] = [];
  for await (const e of parseEventStream(res.body!)) types.push(e.event);
  return types;
}
const artifacts = path.join(repoRoot, 'test-artifacts/dashboard');
const LAPTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
/** Chromium logs the API's refusals itself; the tests that provoke one expect exactly these. */
const REFUSED_400 = 'Failed to load resource: the server responded with a status of 400 (Bad Request)';
const REFUSED_401 = 'Failed to load resource: the server responded with a status of 401 (Unauthorized)';
/**
 * In-page expression for page.evaluate (the test's own code has no DOM types; the page's CSP
 * forbids the eval that a string given to waitForFunction needs): epochs drawn in the job's charts.
 */
const EPOCHS_DRAWN = `Number(document.querySelector('.job-view')?.dataset.epochs ?? 0)`;

/** A model slow enough (about a second an epoch here) to watch it train. */
const circleModel = {
  model: { layers: [{ type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 2 }] },
  loss: 'softmax_cross_entropy',
  optimizer: { type: 'adam' },
  learningRate: 0.001,
  batchSize: 4,
  validation: { fraction: 0.2 },
  seed: 7,
};

// On CI (.ci/run sets TRAIND_REQUIRE_BROWSER=1 after installing chromium) a missing browser fails.
describe.runIf(missing !== null && process.env.TRAIND_REQUIRE_BROWSER === '1')('dashboard in Chromium', () => {
  it('has a browser', () => {
    throw new Error(`the browser tests must run here: ${missing}`);
  });
});

describe.skipIf(missing !== null)(`dashboard in Chromium${missing !== null ? ` (skipped: ${missing})` : ''}`, () => {
  let stack: Stack;
  let browser: Browser;
  let dir: string;
  let datasetId = '';
  let trainedJob = '';
  let cancelledJob = '';

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack({ workers: 1, env: { WORKER_CONCURRENCY: '2' } }), launchChromium()]);
    dir = mkdtempSync(path.join(tmpdir(), 'traind-dashboard-'));
    mkdirSync(artifacts, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh browser context (its own session storage) and every console error or page error it shows. */
  async function open(url: string, viewport = LAPTOP): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    await page.goto(url);
    return { page, errors };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(artifacts, name) });

  it('submits a job from the page, shows its curves growing while it trains, then its terminal status; downloads a checkpoint and predicts', async () => {
    const { page, errors } = await open(`${stack.baseUrl}/#/submit`);
    const csv = path.join(dir, 'circle.csv');
    writeFileSync(csv, circleCsv(4000));
    await page.setInputFiles('#dataset-files', csv);
    await page.fill('#dataset-name', 'circle-4000');
    await page.click('#upload-dataset');
    await page.locator('#upload-status', { hasText: /^Uploaded ds_/ }).waitFor();
    datasetId = /ds_[0-9A-Z]+/.exec((await page.textContent('#upload-status'))!)![0];
    expect(await page.textContent('#upload-status')).toContain('4000 rows × 2 features, classification, 2 classes');
    // The upload put its id into the spec in the editor.
    const spec = JSON.parse(await page.inputValue('#spec')) as Record<string, unknown>;
    expect(spec.dataset).toBe(datasetId);

    await page.fill('#spec', JSON.stringify({ ...spec, ...circleModel, name: 'browser-circle', epochs: 8, checkpoints: { keepBest: 2 } }, null, 2));
    await page.click('#submit-job');
    await page.waitForURL(/#\/job\/job_/);
    trainedJob = page.url().split('/').pop()!;

    // What the server sends for this job, read beside the page (progress events carry no id).
    const sent = eventTypes(stack.baseUrl, trainedJob);

    // The curves grow while the job runs: two more epochs drawn with the status still "running";
    // meanwhile the within-epoch bar, drawn from the server's progress events, is seen.
    const state = () =>
      page.evaluate<{ epochs: number; running: boolean; bar: string | null }>(
        `({ epochs: ${EPOCHS_DRAWN}, running: document.querySelector('.toolbar .badge.running') !== null,
            bar: document.querySelector('.summary .bar.within:not([hidden])') ? document.querySelector('.summary .step-text').textContent : null })`,
      );
    await expect.poll(async () => (await state()).epochs, { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    const first = await state();
    expect(first.running).toBe(true);
    const barTexts: string[] = [];
    let shotTaken = false;
    await expect
      .poll(
        async () => {
          const now = await state();
          if (now.bar !== null) barTexts.push(now.bar);
          if (now.bar !== null && now.epochs >= 3 && Number(/: (\d+)\//.exec(now.bar)?.[1]) >= 400 && !shotTaken) {
            shotTaken = true;
            await shot(page, 'job-running.png');
          }
          expect(now.running || now.epochs >= first.epochs + 2).toBe(true);
          return now.epochs;
        },
        { timeout: 60_000, interval: 100 },
      )
      .toBeGreaterThanOrEqual(first.epochs + 2);
    expect((await state()).running).toBe(true);
    expect(await page.locator('[data-chart]').evaluateAll((els) => els.map((e) => e.getAttribute('data-chart')))).toEqual(['loss', 'accuracy', 'learning rate']);
    if (!shotTaken) await shot(page, 'job-running.png');

    await page.waitForSelector('.toolbar .badge.completed', { timeout: 90_000 });
    expect((await state()).epochs).toBe(8);
    expect(await page.textContent('.toolbar .badge.completed')).toContain('max_epochs');
    expect(await page.locator('table.history tbody td:first-child').allTextContents()).toEqual(['queued', 'running', 'completed']);
    expect(await page.locator('table.history tbody td:nth-child(3)').allTextContents()).toEqual(['', '', 'max_epochs']);
    await page.waitForTimeout(400); // bars finish their transition for the screenshot
    await shot(page, 'job-completed.png');
    // The server sent progress events, and the page drew them as the bar within the epoch.
    expect(await sent).toContain('progress');
    expect(barTexts.length).toBeGreaterThan(0);
    for (const t of barTexts) expect(t).toMatch(/^epoch \d+: \d+\/800 · loss \d\.\d{4} · [\d,]+ samples\/s · ETA\s(<\s)?\d/);

    // A kept checkpoint, downloaded through the client: the same bytes the API lists.
    const listed = await api<{ items: { epoch: number; sha256: string; best: boolean }[] }>(stack, 'GET', `/v1/jobs/${trainedJob}/checkpoints`);
    expect(listed.body.items).toHaveLength(2);
    const best = listed.body.items.find((c) => c.best)!;
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`tr[data-epoch="${best.epoch}"] a.download`)]);
    expect(download.suggestedFilename()).toBe(`${trainedJob}-epoch-${best.epoch}.safetensors`);
    const bytes = readFileSync((await download.path())!);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(best.sha256);
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString()) as Record<string, unknown>;
    expect(Object.keys(header)).toContain('layers.0.weight');

    await page.fill('textarea[aria-label="rows to predict"]', '[[0.1, 0.2], [3, 3]]');
    await page.click('#predict');
    await page.waitForSelector('.predict-out li');
    const outputs = await page.locator('.predict-out li').allInnerTexts();
    expect(outputs).toHaveLength(2);
    for (const o of outputs) expect(o).toMatch(/^label [01] \(p=\d\.\d{4}\)$/);
    expect(errors).toEqual([]);
  }, 180_000);

  it('lists a new job without reloading, then cancels it from its page', async () => {
    const { page, errors } = await open(`${stack.baseUrl}/#/jobs`);
    await page.waitForSelector(`tr[data-job="${trainedJob}"]`);
    const submitted = await api<{ id: string }>(stack, 'POST', '/v1/jobs', { ...circleModel, name: 'to-cancel', dataset: datasetId, epochs: 500 });
    expect(submitted.status).toBe(201);
    cancelledJob = submitted.body.id;
    // The list polls: the job appears, then shows running, with no reload.
    await page.waitForSelector(`tr[data-job="${cancelledJob}"] .badge.running`, { timeout: 30_000 });
    expect(await page.textContent(`tr[data-job="${cancelledJob}"] td.dataset`)).toBe(datasetId);
    // Its bar within the epoch, from its progress events, in the list too.
    await page.waitForSelector(`tr[data-job="${cancelledJob}"] .bar.within:not([hidden])`, { timeout: 30_000 });
    expect(await page.textContent(`tr[data-job="${cancelledJob}"] .step-text`)).toMatch(/^epoch \d+: \d+\/800 · loss /);
    await page.screenshot({ path: path.join(artifacts, 'jobs-live.png'), clip: { x: 0, y: 0, width: LAPTOP.width, height: 330 } });

    await page.click(`tr[data-job="${cancelledJob}"] td.job a`);
    await page.waitForSelector('.toolbar .badge.running');
    await page.click('text=Cancel job');
    await page.waitForSelector('.toolbar .badge.cancelled', { timeout: 30_000 });
    expect(await page.textContent('.toolbar .badge.cancelled')).toContain('cancelled_by_user');
    expect(await page.isHidden('text=Cancel job')).toBe(true);
    const job = await waitForJob<{ status: string; reason: string }>(stack, cancelledJob, (j) => j.status === 'cancelled');
    expect(job.reason).toBe('cancelled_by_user');
    expect(errors).toEqual([]);
  }, 120_000);

  it('uploads an IDX pair given labels first (the images gzipped), telling them apart by their headers', async () => {
    const { page, errors } = await open(`${stack.baseUrl}/#/submit`);
    const labels = path.join(dir, 'labels.idx1-ubyte');
    const images = path.join(dir, 'images.idx3-ubyte.gz');
    writeFileSync(labels, idxFile(0x08, [6], Uint8Array.from([0, 1, 2, 0, 1, 2])));
    writeFileSync(images, gzipSync(idxFile(0x08, [6, 2, 3], Uint8Array.from({ length: 36 }, (_, i) => (i * 37) % 256))));
    await page.setInputFiles('#dataset-files', [labels, images]);
    await page.click('#upload-dataset');
    await page.locator('#upload-status', { hasText: /^Uploaded ds_/ }).waitFor();
    expect(await page.textContent('#upload-status')).toContain('6 rows × 6 features, classification, 3 classes');
    // The new dataset is picked in the list and set in the spec.
    const id = /ds_[0-9A-Z]+/.exec((await page.textContent('#upload-status'))!)![0];
    expect(await page.inputValue('#dataset-pick')).toBe(id);
    expect((JSON.parse(await page.inputValue('#spec')) as { dataset: unknown }).dataset).toBe(id);
    expect(errors).toEqual([]);
  }, 60_000);

  it('shows a refused spec field at its line in the editor, and a JSON syntax error at its line without asking the API', async () => {
    const { page, errors } = await open(`${stack.baseUrl}/#/submit`);
    const text = JSON.stringify({ name: 'bad', dataset: { builtin: 'moons' }, model: { layers: [{ type: 'dense', units: 0 }, { type: 'dense', units: 2 }] }, loss: 'softmax_cross_entropy', epochs: 3 }, null, 2);
    const unitsLine = text.split('\n').findIndex((l) => l.includes('"units": 0')) + 1;
    await page.fill('#spec', text);
    await page.click('#submit-job');
    const inline = page.locator('.editor .inline-msg[data-path="model.layers.0.units"]');
    await inline.waitFor();
    expect(await inline.textContent()).toContain('model.layers.0.units: Too small');
    expect(await page.locator('.editor .ln.err').allInnerTexts()).toEqual([String(unitsLine)]);
    expect(await page.textContent('ul.issues li[data-path="model.layers.0.units"]')).toContain(`line ${unitsLine}`);
    expect(page.url()).toMatch(/#\/submit$/);
    await shot(page, 'submit-refused.png');

    await page.fill('#spec', '{\n  "name": "x",\n  "epochs": 3,,\n}');
    await page.click('#submit-job');
    await page.waitForSelector('ul.issues li');
    expect(await page.locator('.editor .ln.err').allInnerTexts()).toEqual(['3']);
    expect(await page.textContent('ul.issues')).toContain('invalid JSON');
    // The one refusal is the API's 400 for the spec (Chromium logs it); the syntax error never left the page.
    expect(errors).toEqual([REFUSED_400]);
  }, 60_000);

  it('filters the list by status, compares two jobs, fits a phone, and asks no key of a loopback server', async () => {
    const { page, errors } = await open(`${stack.baseUrl}/#/jobs`);
    await page.waitForSelector(`tr[data-job="${cancelledJob}"]`);
    expect(await page.textContent(`tr[data-job="${trainedJob}"] td.best`)).toMatch(/^val_loss \d\.\d{4} @ \d$/);
    expect(await page.textContent(`tr[data-job="${trainedJob}"] .epochs`)).toBe('8 / 8');
    await shot(page, 'jobs.png');
    await page.selectOption('#status-filter', 'cancelled');
    await expect.poll(() => page.locator('tr[data-job]').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getAttribute('tr[data-job]', 'data-job')).toBe(cancelledJob);

    await page.goto(`${stack.baseUrl}/#/jobs`);
    await page.check(`tr[data-job="${trainedJob}"] input[type=checkbox]`);
    await page.check(`tr[data-job="${cancelledJob}"] input[type=checkbox]`);
    await page.click('text=Compare 2 jobs');
    await page.locator('.compare-view[data-series="2"]').waitFor();
    expect(await page.inputValue('#compare-metric')).toBe('val_loss');
    await page.selectOption('#compare-metric', 'accuracy');
    await page.locator('.compare-view .u-title', { hasText: /^accuracy$/ }).waitFor();
    await shot(page, 'compare.png');
    expect(await page.locator('#key-dialog').count()).toBe(0);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(errors).toEqual([]);

    // A phone: nothing wider than the screen (the table scrolls inside its box), charts included.
    const phone = await open(`${stack.baseUrl}/#/job/${trainedJob}`, PHONE);
    await phone.page.waitForSelector('[data-chart="loss"] canvas');
    await phone.page.waitForTimeout(300);
    const widths = await phone.page.evaluate<{ page: number; chart: number }>(`({ page: document.documentElement.scrollWidth, chart: document.querySelector('[data-chart="loss"]').getBoundingClientRect().right })`);
    expect(widths.page).toBeLessThanOrEqual(PHONE.width);
    expect(widths.chart).toBeLessThanOrEqual(PHONE.width);
    await shot(phone.page, 'phone-job.png');
    await phone.page.goto(`${stack.baseUrl}/#/jobs`);
    await phone.page.waitForSelector(`tr[data-job="${trainedJob}"]`);
    expect(await phone.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    await shot(phone.page, 'phone-jobs.png');
    expect(phone.errors).toEqual([]);
  }, 60_000);

  it('lists a sweep and shows its leaderboard, the objective against each parameter and the trials\' curves; cancels another', async () => {
    // Three tiny trials on the dataset uploaded above: a few seconds in all.
    const submitted = await api<{ id: string }>(stack, 'POST', '/v1/sweeps', {
      name: 'browser-sweep',
      base: { dataset: datasetId, model: { layers: [{ type: 'dense', units: 4, activation: 'relu' }, { type: 'dense', units: 2 }] }, loss: 'softmax_cross_entropy', optimizer: { type: 'adam' }, batchSize: 64, epochs: 3, validation: { fraction: 0.2 }, seed: 1 },
      space: { learningRate: { loguniform: [0.001, 0.1] }, 'model.layers.0.units': { choice: [4, 16] } },
      maxTrials: 3,
      parallelism: 2,
      objective: { metric: 'val_loss', mode: 'min' },
      seed: 5,
    });
    expect(submitted.status).toBe(201);
    const sweepId = submitted.body.id;
    const { page, errors } = await open(`${stack.baseUrl}/#/jobs`);
    await page.click('nav a[data-nav="sweeps"]');
    await page.waitForSelector(`tr[data-sweep="${sweepId}"]`);
    await page.click(`tr[data-sweep="${sweepId}"] a`);
    await page.waitForURL(new RegExp(`#/sweep/${sweepId}$`));
    // The page refreshes itself until the sweep ends.
    await page.waitForSelector('.sweep-view .toolbar .badge.completed', { timeout: 60_000 });
    await page.locator('.sweep-view[data-trials="3"][data-curves="3"]').waitFor({ timeout: 10_000 });
    const sweep = (await api<{ leaderboard: { trial: number; jobId: string; objective: number }[] }>(stack, 'GET', `/v1/sweeps/${sweepId}`)).body;
    // Ranked as the API ranks them, each linking to its job.
    expect(await page.locator('table.leaderboard tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-trial')))).toEqual(sweep.leaderboard.map((t) => String(t.trial)));
    expect(await page.locator('table.leaderboard tbody tr a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual(sweep.leaderboard.map((t) => `#/job/${t.jobId}`));
    expect(await page.locator('table.leaderboard thead th').allTextContents()).toEqual(['#', 'trial', 'val_loss', 'learningRate', 'model.layers.0.units', 'epochs', 'state', 'job']);
    // One scatter per parameter with a point per trial, and the curves chart, all drawn.
    expect(await page.locator('[data-chart^="scatter "]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-chart'), e.getAttribute('data-points')]))).toEqual([
      ['scatter learningRate', '3'],
      ['scatter model.layers.0.units', '3'],
    ]);
    expect(await page.locator('[data-chart="curves"] canvas').count()).toBe(1);
    expect(await page.locator('[data-chart^="scatter "] canvas').count()).toBe(2);
    expect(await page.isHidden('text=Cancel sweep')).toBe(true);
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(artifacts, 'sweep.png'), fullPage: true });
    await page.goto(`${stack.baseUrl}/#/sweeps`);
    expect(await page.textContent(`tr[data-sweep="${sweepId}"] td.counts`)).toBe('3 completed');

    // A sweep whose trials would train for minutes, cancelled from its page.
    const long = await api<{ id: string }>(stack, 'POST', '/v1/sweeps', {
      name: 'browser-sweep-cancel',
      base: { dataset: datasetId, model: { layers: [{ type: 'dense', units: 4 }, { type: 'dense', units: 2 }] }, loss: 'softmax_cross_entropy', batchSize: 4, epochs: 500, seed: 1 },
      space: { learningRate: { loguniform: [0.001, 0.1] } },
      maxTrials: 2,
      parallelism: 2,
      objective: { metric: 'loss', mode: 'min' },
    });
    expect(long.status).toBe(201);
    await page.goto(`${stack.baseUrl}/#/sweep/${long.body.id}`);
    await page.waitForSelector('.sweep-view .toolbar .badge.running');
    await page.click('text=Cancel sweep');
    await page.waitForSelector('.sweep-view .toolbar .badge.cancelled', { timeout: 30_000 });
    expect(await page.isHidden('text=Cancel sweep')).toBe(true);
    expect((await api<{ status: string }>(stack, 'GET', `/v1/sweeps/${long.body.id}`)).body.status).toBe('cancelled');
    expect(errors).toEqual([]);
  }, 90_000);

  it('pages back through more jobs than one page with "Load older jobs", keeps them through a poll, and starts again from the newest on a filter', async () => {
    // A service of its own without a worker: its 56 jobs stay queued and cost only their records.
    const paged = await startStack({ workers: 0 });
    try {
      const spec = { dataset: { builtin: 'xor' }, model: { layers: [{ type: 'dense', units: 2 }] }, loss: 'softmax_cross_entropy', epochs: 1 };
      const submit = async (name: string): Promise<string> => {
        const res = await api<{ id: string }>(paged, 'POST', '/v1/jobs', { ...spec, name });
        expect(res.status).toBe(201);
        return res.body.id;
      };
      // The list is ordered by id (newest first), whatever order the requests were answered in.
      const newestFirst = (await Promise.all(Array.from({ length: 56 }, (_, i) => submit(`job ${i + 1}`)))).sort().reverse();
      expect((await api(paged, 'POST', `/v1/jobs/${newestFirst[55]}/cancel`)).status).toBe(202);
      const { page, errors } = await open(`${paged.baseUrl}/#/jobs`);
      const listed = () => page.locator('tr[data-job]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job')));
      const focusedRow = () => page.evaluate<string | undefined>(`document.activeElement?.closest('tr')?.dataset.job`);
      await page.locator('tr[data-job]').nth(49).waitFor();
      expect(await listed()).toEqual(newestFirst.slice(0, 50));
      expect(await page.textContent('.more [role=status]')).toBe('Showing the newest 50 jobs.');

      await page.locator('#load-older').scrollIntoViewIfNeeded();
      await shot(page, 'jobs-load-older.png');

      // From the keyboard, as a real button: the 6 older jobs below, then no button, the focus on the first of them.
      await page.focus('#load-older');
      await page.keyboard.press('Enter');
      await page.locator('#load-older').waitFor({ state: 'hidden' });
      expect(await listed()).toEqual(newestFirst);
      expect(await page.textContent('.more [role=status]')).toBe('All 56 jobs shown.');
      expect(await focusedRow()).toBe(newestFirst[50]);

      // The next poll (every 2 s) puts a new job on top and keeps the older page, each job once, the focus where it was.
      const newer = await submit('newer');
      await page.waitForSelector(`tr[data-job="${newer}"]`, { timeout: 5_000 });
      expect(await listed()).toEqual([newer, ...newestFirst]);
      expect(await focusedRow()).toBe(newestFirst[50]);

      // A filter starts again from the newest page: 50 of the 56 queued jobs (the oldest was cancelled), then the rest.
      await page.selectOption('#status-filter', 'queued');
      await expect.poll(listed, { timeout: 5_000 }).toEqual([newer, ...newestFirst.slice(0, 49)]);
      await page.click('#load-older');
      await expect.poll(listed, { timeout: 5_000 }).toEqual([newer, ...newestFirst.slice(0, 55)]);
      expect(await page.isHidden('#load-older')).toBe(true);
      expect(await page.textContent('.more [role=status]')).toBe('All 56 queued jobs shown.');
      expect(errors).toEqual([]);
    } finally {
      await paged.stop();
    }
  }, 30_000);

  it('with API keys configured, asks for the key once, keeps it in session storage only, never in a URL', async () => {
    const key = 'dashboard-test-key-0123456789abcdef';
    const keyed = await startStack({ workers: 0, env: { API_KEYS: `dash:${sha256Hex(key)}` } });
    try {
      const { page, errors } = await open(`${keyed.baseUrl}/#/jobs`);
      const dialog = page.locator('#key-dialog');
      await dialog.waitFor();
      await dialog.locator('input').fill('not-the-key');
      await dialog.locator('button[type=submit]').click();
      await page.waitForSelector('#key-dialog [role=alert]');
      await dialog.locator('input').fill(key);
      await dialog.locator('button[type=submit]').click();
      await page.waitForSelector('text=No jobs yet: submit one.');
      expect(await page.locator('#key-dialog').count()).toBe(0);
      expect(await page.evaluate(`({ session: sessionStorage.getItem('traind.apiKey'), local: localStorage.length })`)).toEqual({ session: key, local: 0 });
      // Other views and a reload of the tab use the kept key without asking again.
      await page.goto(`${keyed.baseUrl}/#/submit`);
      await page.reload();
      await page.waitForSelector('#dataset-pick option[value="builtin:moons"]', { state: 'attached' });
      await page.waitForTimeout(300);
      expect(await page.locator('#key-dialog').count()).toBe(0);
      expect(page.url()).not.toContain(key);
      expect(await page.textContent('#key-state')).toContain('API key set');
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.filter((e) => e !== REFUSED_401)).toEqual([]);
    } finally {
      await keyed.stop();
    }
  }, 60_000);
});
