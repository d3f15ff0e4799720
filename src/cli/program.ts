// The `traind` command line: every command is a few lines over the typed client, so what the CLI
// can do is exactly what the public API offers.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Dataset, JobSpec, JobStatus, JobSummary, TraindClient } from '../client/index.js';
import { connect, resolveBaseUrl, type GlobalOptions } from './connection.js';
import { uploadFiles, readInputFile } from './dataset-files.js';
import { describeError, UsageError } from './describe-error.js';
import { formatNumber } from './epoch-line.js';
import { evaluationReport } from './evaluation-report.js';
import { followJobToEnd } from './follow.js';
import { readInputs } from './read-inputs.js';
import { describeSweep, followSweepToEnd, readSweepSpec, sweepList, sweepSummaryLine } from './sweep.js';
import { table } from './table.js';

const STATUSES: JobStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export function buildProgram(io: Io): Command {
  const program = new Command('traind')
    .description('Train neural networks on a traind server: upload datasets, submit and follow jobs, download checkpoints, predict.')
    .option('--url <url>', 'server URL (default: $TRAIND_URL, else http://127.0.0.1:3000)')
    .option('--key <key>', 'API key (default: $TRAIND_API_KEY)')
    .option('--json', 'machine-readable output: JSON (follow: one JSON event per line)')
    .showHelpAfterError();

  /** Runs a command body with the client; prints errors and sets the exit code. */
  const run =
    <A extends unknown[]>(body: (client: TraindClient, g: GlobalOptions, ...args: A) => Promise<number | void>) =>
    async (...args: A) => {
      const cmd = args[args.length - 1] as Command;
      const g = cmd.optsWithGlobals<GlobalOptions>();
      try {
        process.exitCode = (await body(connect(g), g, ...args)) ?? 0;
      } catch (err) {
        for (const line of describeError(err, resolveBaseUrl(g))) io.stderr.write(line + '\n');
        process.exitCode = err instanceof UsageError ? 2 : 1;
      }
    };
  const print = (g: GlobalOptions, value: unknown, human: () => string) => io.stdout.write(g.json ? JSON.stringify(value, null, 2) + '\n' : human());

  const datasets = program.command('datasets').description('upload and list datasets');
  datasets
    .command('upload')
    .description('upload one .csv/.json/.ndjson file, or two IDX files (images and labels, gzipped or not)')
    .argument('<files...>')
    .option('--label <column>', 'CSV: the label column(s), comma-separated')
    .option('--name <name>', 'a name for the dataset')
    .action(
      run(async (client, g, files: string[], o: { label?: string; name?: string }) => {
        const ds = await uploadFiles(client, files, o);
        print(g, ds, () => `${ds.id}  ${datasetSummary(ds)}\n`);
      }),
    );
  datasets
    .command('ls')
    .description('list datasets, newest first')
    .action(
      run(async (client, g) => {
        const items = await client.listDatasets();
        print(g, items, () =>
          table(
            ['ID', 'NAME', 'ROWS', 'FEATURES', 'TASK', 'CREATED'],
            items.map((d) => [d.id, d.name ?? '', String(d.rows), String(d.features), d.task ?? d.status, d.createdAt]),
          ),
        );
      }),
    );

  program
    .command('submit')
    .description('submit a training job from a JSON spec')
    .argument('<spec>', 'the job spec, a JSON file')
    .option('--dataset <dataset>', 'a dataset id (ds_…) or a file to upload first; replaces the spec\'s "dataset"')
    .option('--label <column>', 'with --dataset FILE.csv: the label column(s)')
    .option('--follow', 'follow the job until it ends (exit code as `traind follow`)')
    .action(
      run(async (client, g, specFile: string, o: { dataset?: string; label?: string; follow?: boolean }) => {
        const spec = await readSpec(specFile);
        if (o.dataset !== undefined) {
          if (/^ds_[A-Za-z0-9]+$/.test(o.dataset)) spec.dataset = o.dataset;
          else {
            const ds = await uploadFiles(client, [o.dataset], o.label !== undefined ? { label: o.label } : {});
            if (!g.json) io.stdout.write(`uploaded ${o.dataset} as ${ds.id}  ${datasetSummary(ds)}\n`);
            spec.dataset = ds.id;
          }
        }
        const job = await client.submitJob(spec);
        if (!o.follow) {
          print(g, job, () => `${job.id} ${job.status}${job.queuePosition !== null ? ` (queue position ${job.queuePosition})` : ''}\n`);
          return;
        }
        if (!g.json) io.stdout.write(`submitted ${job.id}\n`);
        return followJobToEnd(client, job.id, { json: g.json === true, stdout: io.stdout });
      }),
    );

  const jobs = program.command('jobs').description('list and inspect jobs');
  jobs
    .command('ls')
    .description('list jobs, newest first')
    .addOption(new Option('--status <status>', 'only jobs with this status').choices(STATUSES))
    .action(
      run(async (client, g, o: { status?: JobStatus }) => {
        const items = await client.listJobs(o.status !== undefined ? { status: o.status } : {});
        print(g, items, () => table(['ID', 'NAME', 'STATUS', 'EPOCH', 'BEST', 'BACKEND', 'CREATED'], items.map(jobRow)));
      }),
    );
  jobs
    .command('show')
    .description('a job: status, progress, best epoch, history, resolved spec')
    .argument('<id>')
    .action(
      run(async (client, g, id: string) => {
        const job = await client.getJob(id);
        print(g, job, () => {
          const lines = [
            `id:        ${job.id}`,
            `name:      ${job.name ?? ''}`,
            `status:    ${job.status}${job.reason ? ` (${job.reason})` : ''}`,
            `progress:  epoch ${job.progress.epoch}/${job.progress.epochs}`,
            `best:      ${job.best ? `epoch ${job.best.epoch}, ${bestValue(job)}` : '-'}`,
            `backend:   ${job.backend ?? '-'}`,
            ...(job.initFrom ? [`from:      ${job.initFrom.job} epoch ${job.initFrom.epoch} (sha256 ${job.initFrom.sha256.slice(0, 12)}…)`] : []),
            `created:   ${job.createdAt}`,
            ...(job.error ? [`error:     ${job.error}`] : []),
            'history:',
            ...job.history.map((h) => `  ${h.at}  ${h.status}${h.reason ? ` (${h.reason})` : ''}${h.attempt > 1 ? ` attempt ${h.attempt}` : ''}`),
            'spec:',
            ...JSON.stringify(job.spec, null, 2)
              .split('\n')
              .map((l) => `  ${l}`),
          ];
          return lines.join('\n') + '\n';
        });
      }),
    );

  program
    .command('follow')
    .description('follow a job: one line per epoch, then its final status; exit 0 only when it completed (3 failed, 4 cancelled)')
    .argument('<id>')
    .action(run((client, g, id: string) => followJobToEnd(client, id, { json: g.json === true, stdout: io.stdout })));

  program
    .command('cancel')
    .description('cancel a queued or running job')
    .argument('<id>')
    .action(
      run(async (client, g, id: string) => {
        const job = await client.cancelJob(id);
        print(g, job, () => `${job.id} ${job.status}\n`);
      }),
    );

  program
    .command('download')
    .description("download a checkpoint: the best one, or one epoch's, as safetensors or as an ONNX model")
    .argument('<id>')
    .option('--epoch <epoch>', 'an epoch number or "best"', 'best')
    .option('--format <format>', 'safetensors (the stored file) or onnx (for ONNX Runtime)', 'safetensors')
    .option('-o, --output <file>', 'where to write it (default: <id>-<epoch>.safetensors, or .onnx)')
    .action(
      run(async (client, g, id: string, o: { epoch: string; format: string; output?: string }) => {
        const epoch = o.epoch === 'best' ? 'best' : Number(o.epoch);
        if (epoch !== 'best' && !(Number.isInteger(epoch) && epoch >= 1)) throw new UsageError(`--epoch: expected a positive integer or "best", got ${JSON.stringify(o.epoch)}`);
        if (o.format !== 'safetensors' && o.format !== 'onnx') throw new UsageError(`--format: expected "safetensors" or "onnx", got ${JSON.stringify(o.format)}`);
        const bytes = await client.downloadCheckpoint(id, epoch, o.format);
        const file = o.output ?? `${id}-${epoch === 'best' ? 'best' : `epoch${epoch}`}.${o.format}`;
        await writeFile(file, bytes);
        print(g, { file: path.resolve(file), bytes: bytes.byteLength }, () => `wrote ${file} (${bytes.byteLength} bytes)\n`);
      }),
    );

  program
    .command('predict')
    .description("predict rows with a job's best checkpoint")
    .argument('<id>')
    .requiredOption('--input <file>', 'rows: a .json file ([[...], ...]), a .csv file of numbers, .f32 (little-endian float32 rows) or IDX images (.idx, .idx.gz)')
    .action(
      run(async (client, g, id: string, o: { input: string }) => {
        const res = await client.predict(id, await readInputs(o.input));
        print(g, res, () =>
          res.outputs
            .map((out) => ('label' in out ? `label ${out.label} (p=${formatNumber(out.probabilities[out.label] ?? NaN)})` : out.value.map(formatNumber).join(',')))
            .join('\n')
            .concat('\n'),
        );
      }),
    );

  program
    .command('evaluate')
    .description("score a job's checkpoint on a dataset: loss, accuracy, per-class precision/recall/F1 and confusion matrix (classifiers), MAE/RMSE/R² (regressors); exit 0 when it completed")
    .argument('<id>')
    .requiredOption('--dataset <dataset>', 'a dataset id (ds_…) or a file to upload first')
    .option('--label <column>', 'with --dataset FILE.csv: the label column(s)')
    .option('--checkpoint <epoch>', 'an epoch number or "best"', 'best')
    .option('--timeout <seconds>', 'give up waiting after this long (the evaluation goes on; `--json` prints its id)', '600')
    .action(
      run(async (client, g, id: string, o: { dataset: string; label?: string; checkpoint: string; timeout: string }) => {
        const checkpoint = o.checkpoint === 'best' ? 'best' : Number(o.checkpoint);
        if (checkpoint !== 'best' && !(Number.isInteger(checkpoint) && checkpoint >= 1)) throw new UsageError(`--checkpoint: expected a positive integer or "best", got ${JSON.stringify(o.checkpoint)}`);
        const timeout = Number(o.timeout);
        if (!(timeout > 0)) throw new UsageError(`--timeout: expected a positive number of seconds, got ${JSON.stringify(o.timeout)}`);
        let dataset = o.dataset;
        if (!/^ds_[A-Za-z0-9]+$/.test(dataset)) {
          const ds = await uploadFiles(client, [dataset], o.label !== undefined ? { label: o.label } : {});
          if (!g.json) io.stdout.write(`uploaded ${o.dataset} as ${ds.id}  ${datasetSummary(ds)}\n`);
          dataset = ds.id;
        }
        // The server holds the answer up to 60 s; a longer evaluation is polled.
        let ev = await client.evaluate(id, { dataset, checkpoint }, { wait: Math.min(60, timeout) });
        if (ev.status !== 'completed' && ev.status !== 'failed') ev = await client.waitForEvaluation(ev.id, { timeoutMs: timeout * 1000 });
        print(g, ev, () => evaluationReport(ev));
        if (ev.status === 'failed' && !g.json) io.stderr.write(`error: evaluation failed: ${ev.error ?? 'unknown reason'}\n`);
        return ev.status === 'completed' ? 0 : 1;
      }),
    );

  const sweep = program.command('sweep').description('hyperparameter sweeps: submit, list, show, follow, cancel');
  sweep
    .command('submit')
    .description('submit a sweep from a JSON file ({base, space, objective, …})')
    .argument('<file>')
    .option('--follow', 'follow the sweep until it ends (exit code as `traind sweep follow`)')
    .action(
      run(async (client, g, file: string, o: { follow?: boolean }) => {
        const s = await client.submitSweep(await readSweepSpec(file));
        if (!o.follow) {
          print(g, s, () => sweepSummaryLine(s) + '\n');
          return;
        }
        if (!g.json) io.stdout.write(`submitted ${s.id}\n`);
        return followSweepToEnd(client, s.id, { json: g.json === true, stdout: io.stdout });
      }),
    );
  sweep
    .command('ls')
    .description('list sweeps, newest first')
    .action(
      run(async (client, g) => {
        const items = await client.listSweeps();
        print(g, items, () => sweepList(items));
      }),
    );
  sweep
    .command('show')
    .description('a sweep: status, trial counts, best trial and the leaderboard')
    .argument('<id>')
    .action(
      run(async (client, g, id: string) => {
        const s = await client.getSweep(id);
        print(g, s, () => describeSweep(s));
      }),
    );
  sweep
    .command('follow')
    .description('follow a sweep: one line per trial event; exit 0 when it completed, 4 when cancelled')
    .argument('<id>')
    .action(run((client, g, id: string) => followSweepToEnd(client, id, { json: g.json === true, stdout: io.stdout })));
  sweep
    .command('cancel')
    .description('cancel a sweep: no new trials, queued and running ones cancelled')
    .argument('<id>')
    .action(
      run(async (client, g, id: string) => {
        const s = await client.cancelSweep(id);
        print(g, s, () => sweepSummaryLine(s) + '\n');
      }),
    );

  return program;
}

async function readSpec(file: string): Promise<JobSpec> {
  const text = (await readInputFile(file)).toString('utf8');
  try {
    return JSON.parse(text) as JobSpec;
  } catch (err) {
    throw new UsageError(`${file}: invalid JSON (${(err as Error).message})`);
  }
}

function datasetSummary(d: Dataset): string {
  return `${d.rows} rows × ${d.features} features, ${d.task}${d.classes !== null ? `, ${d.classes} classes` : ''}`;
}

function bestValue(j: Pick<JobSummary, 'best'>): string {
  const b = j.best;
  if (b === null) return '';
  return b.val_loss !== undefined ? `val_loss ${formatNumber(b.val_loss)}` : `loss ${formatNumber(b.loss)}`;
}

function jobRow(j: JobSummary): string[] {
  return [j.id, j.name ?? '', j.status, `${j.progress.epoch}/${j.progress.epochs}`, bestValue(j), j.backend ?? '', j.createdAt];
}

