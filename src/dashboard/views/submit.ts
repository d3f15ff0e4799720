// Submit: upload a dataset (CSV, JSON rows, or an IDX images + labels pair) or pick one, edit the
// job spec as JSON, submit. Refusals appear where the API says: an invalid spec field at its line
// in the editor, an upload problem at the upload's fields.
import { TraindError, type Dataset, type JobSpec } from '../../client/index.js';
import { h, errorText, type View } from '../dom.js';
import { SpecEditor, type Marker } from '../editor.js';
import { lineOf, locate, placesOf, syntaxErrorOffset } from '../json-locate.js';
import type { Session } from '../session.js';

type Builtin = Extract<JobSpec['dataset'], { builtin: unknown }>['builtin'];
const BUILTINS: Builtin[] = ['xor', 'spirals', 'moons', 'circles', 'iris', 'sine', 'linear'];

export const EXAMPLE_SPEC = {
  name: 'moons-mlp',
  dataset: { builtin: 'moons' },
  validation: { fraction: 0.2 },
  model: {
    layers: [
      { type: 'dense', units: 32, activation: 'relu' },
      { type: 'dense', units: 2 },
    ],
  },
  loss: 'softmax_cross_entropy',
  optimizer: { type: 'adam' },
  learningRate: 0.01,
  batchSize: 32,
  epochs: 30,
  checkpoints: { keepBest: 2 },
  seed: 42,
};

/** IDX files: a 4-byte magic whose last byte is the number of dimensions (1 for labels). Gzipped ones are inflated to read it. */
async function idxDimensions(file: File): Promise<number> {
  let head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const reader = file.stream().pipeThrough(new DecompressionStream('gzip')).getReader();
    const { value } = await reader.read();
    await reader.cancel();
    head = value ?? new Uint8Array();
  }
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0) throw new Error(`${file.name} is not an IDX file`);
  return head[3]!;
}

function datasetLine(d: Dataset): string {
  return `${d.id}${d.name ? ` (${d.name})` : ''}: ${d.rows} rows × ${d.features} features, ${d.task}${d.classes !== null ? `, ${d.classes} classes` : ''}`;
}

export function submitView(session: Session): View {
  const editor = new SpecEditor(JSON.stringify(EXAMPLE_SPEC, null, 2));
  const issues = h('ul', { class: 'issues', 'aria-live': 'polite' });
  const submitStatus = h('p', { class: 'muted' });
  const submitButton = h('button', { type: 'submit', class: 'primary', id: 'submit-job' }, 'Submit job');

  const files = h('input', { type: 'file', id: 'dataset-files', multiple: true, accept: '.csv,.json,.ndjson,.gz,.idx,.ubyte,.idx1-ubyte,.idx3-ubyte' });
  const label = h('input', { type: 'text', id: 'dataset-label', placeholder: 'label (CSV: default "label", else the last column)' });
  const name = h('input', { type: 'text', id: 'dataset-name', placeholder: 'name (optional)' });
  const task = h('select', { id: 'dataset-task', 'aria-label': 'task' }, h('option', { value: '' }, 'task: inferred'), h('option', { value: 'classification' }, 'classification'), h('option', { value: 'regression' }, 'regression'));
  const fileError = h('p', { class: 'field-error error', 'data-field': 'file', hidden: true });
  const labelError = h('p', { class: 'field-error error', 'data-field': 'label', hidden: true });
  const uploadStatus = h('p', { class: 'muted', id: 'upload-status' });
  const uploadButton = h('button', { type: 'submit', id: 'upload-dataset' }, 'Upload');
  const pick = h('select', { id: 'dataset-pick', 'aria-label': 'dataset' });

  function setError(el: HTMLElement, text: string | null): void {
    el.textContent = text ?? '';
    el.hidden = text === null;
  }

  /** Sets the spec's dataset in the editor (the spec must parse). */
  function useDataset(ref: string | { builtin: string }): void {
    try {
      const spec = JSON.parse(editor.text) as Record<string, unknown>;
      spec.dataset = ref;
      editor.text = JSON.stringify(spec, null, 2);
      submitStatus.textContent = `The spec now trains on ${typeof ref === 'string' ? ref : `builtin ${ref.builtin}`}.`;
    } catch {
      submitStatus.textContent = 'Fix the spec\'s JSON first: the dataset is set in it.';
    }
  }

  async function loadDatasets(selected?: string): Promise<void> {
    const datasets = await session.call((c) => c.listDatasets()).catch(() => [] as Dataset[]);
    pick.replaceChildren(
      h('option', { value: '' }, 'choose a dataset…'),
      h('optgroup', { label: 'uploaded' }, datasets.map((d) => h('option', { value: d.id, selected: d.id === selected }, datasetLine(d)))),
      h('optgroup', { label: 'built-in' }, BUILTINS.map((b) => h('option', { value: `builtin:${b}` }, b))),
    );
  }

  async function upload(e: Event): Promise<void> {
    e.preventDefault();
    setError(fileError, null);
    setError(labelError, null);
    const chosen = [...(files.files ?? [])];
    const options = { ...(name.value.trim() ? { name: name.value.trim() } : {}), ...(task.value ? { task: task.value as 'classification' | 'regression' } : {}) };
    try {
      let dataset: Dataset;
      if (chosen.length === 2) {
        const dims = await Promise.all(chosen.map(idxDimensions));
        const labelsAt = dims.indexOf(1);
        if (labelsAt < 0 || dims.filter((d) => d === 1).length !== 1) throw new Error('two IDX files: one must be the labels (1-dimensional) and the other the images');
        const [images, labels] = await Promise.all([chosen[1 - labelsAt]!, chosen[labelsAt]!].map(async (f) => new Uint8Array(await f.arrayBuffer())));
        uploadStatus.textContent = 'Uploading…';
        dataset = await session.call((c) => c.uploadIdx(images!, labels!, options));
      } else if (chosen.length === 1) {
        const file = chosen[0]!;
        const ext = file.name.toLowerCase().split('.').pop();
        const format = ext === 'csv' ? 'csv' : ext === 'json' ? 'json' : ext === 'ndjson' || ext === 'jsonl' ? 'ndjson' : null;
        if (format === null) throw new Error(`${file.name}: expected a .csv, .json or .ndjson file, or two IDX files`);
        uploadStatus.textContent = 'Uploading…';
        const bytes = new Uint8Array(await file.arrayBuffer());
        dataset = await session.call((c) => c.uploadDataset(bytes, format, { ...options, ...(format === 'csv' && label.value.trim() ? { label: label.value.trim() } : {}) }));
      } else {
        throw new Error('choose a CSV/JSON file, or an IDX images file and its labels file');
      }
      uploadStatus.textContent = `Uploaded ${datasetLine(dataset)}`;
      await loadDatasets(dataset.id);
      useDataset(dataset.id);
    } catch (err) {
      uploadStatus.textContent = '';
      const details = err instanceof TraindError ? err.body?.error.details : undefined;
      const path = typeof details?.path === 'string' ? details.path : '';
      setError(path === 'label' ? labelError : fileError, errorText(err));
    }
  }

  async function submit(e: Event): Promise<void> {
    e.preventDefault();
    issues.replaceChildren();
    editor.setMarkers([]);
    const text = editor.text;
    let spec: JobSpec;
    try {
      spec = JSON.parse(text) as JobSpec;
    } catch (err) {
      const offset = syntaxErrorOffset(text, errorText(err));
      showIssues(text, [{ path: '', message: `invalid JSON: ${errorText(err)}` }], offset);
      return;
    }
    submitButton.disabled = true;
    submitStatus.textContent = 'Submitting…';
    try {
      const job = await session.call((c) => c.submitJob(spec));
      location.hash = `#/job/${job.id}`;
    } catch (err) {
      submitStatus.textContent = '';
      const details = err instanceof TraindError ? err.body?.error.details : undefined;
      const list = Array.isArray(details?.issues) ? (details.issues as { path: string; message: string }[]) : [];
      if (list.length > 0) showIssues(text, list, null);
      else submitStatus.replaceChildren(h('span', { class: 'error' }, errorText(err)));
    } finally {
      submitButton.disabled = false;
    }
  }

  /** Each issue at its field's line (or its nearest parent's), in the editor and in the list below it. */
  function showIssues(text: string, list: { path: string; message: string }[], offset: number | null): void {
    const places = placesOf(text);
    const markers: Marker[] = [];
    issues.replaceChildren(
      ...list.map((issue) => {
        const found = offset === null ? locate(places, issue.path) : { place: { start: offset, end: offset + 1 }, exact: true };
        const line = found ? lineOf(text, found.place.start) : 0;
        markers.push({ line, path: issue.path, message: issue.message });
        return h(
          'li',
          { 'data-path': issue.path },
          h('button', { type: 'button', class: 'link', onclick: () => found && editor.select(found.place.start, found.place.end) }, `line ${line + 1}`),
          ' ',
          h('code', {}, issue.path || '(root)'),
          `: ${issue.message}`,
        );
      }),
    );
    editor.setMarkers(markers);
  }

  pick.addEventListener('change', () => {
    const v = pick.value;
    if (v !== '') useDataset(v.startsWith('builtin:') ? { builtin: v.slice('builtin:'.length) } : v);
  });
  void loadDatasets();

  const el = h(
    'section',
    { class: 'view submit-view' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'New job')),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, '1. Dataset'),
      h('div', { class: 'row' }, pick),
      h(
        'form',
        { class: 'upload', onsubmit: (e: Event) => void upload(e) },
        h('p', { class: 'muted' }, 'Or upload one: a CSV with a header row, JSON or NDJSON rows {"features": […], "label": …}, or an IDX images file with its labels file (gzipped or not).'),
        h('div', { class: 'row' }, files, uploadButton),
        fileError,
        h('div', { class: 'row' }, label, name, task),
        labelError,
        uploadStatus,
      ),
    ),
    h(
      'form',
      { class: 'card spec-form', onsubmit: (e: Event) => void submit(e) },
      h('h2', {}, '2. Spec'),
      h('p', { class: 'muted' }, 'The job spec as JSON (see the README for every field); the API fills in defaults and names any field it refuses.'),
      editor.el,
      issues,
      h('div', { class: 'actions' }, submitStatus, submitButton),
    ),
  );
  return { el, dispose: () => undefined };
}
