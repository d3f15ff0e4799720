// The within-epoch bar (Keras's), drawn from the server's `progress` events
// {epoch, step, stepsPerEpoch, loss, samplesPerSec, eta}; only on a terminal. An epoch shorter
// than the server's progress interval (250 ms) may show no bar, only its line.
import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../client/index.js';

/** The fields the bar needs, checked: an older or newer server may send something else. */
export function isProgressEvent(d: unknown): d is ProgressEvent {
  const p = d as Partial<ProgressEvent> | null;
  return typeof p?.epoch === 'number' && typeof p.step === 'number' && typeof p.stepsPerEpoch === 'number' && p.stepsPerEpoch > 0;
}

export interface EpochBar {
  update(p: ProgressEvent, epochs: number | undefined): void;
  /** Removes the bar so a line can be printed in its place. */
  clear(): void;
}

export function createEpochBar(stream: NodeJS.WriteStream): EpochBar {
  let bar: cliProgress.SingleBar | undefined;
  let barEpoch = -1;
  const clear = () => {
    if (bar === undefined) return;
    // clearOnComplete: stop() erases the bar's line, the epoch line takes its place.
    bar.stop();
    bar = undefined;
  };
  return {
    update(p, epochs) {
      if (bar !== undefined && barEpoch !== p.epoch) clear();
      const payload = {
        ep: `${p.epoch}${epochs !== undefined ? `/${epochs}` : ''}`,
        loss: typeof p.loss === 'number' ? p.loss.toFixed(4) : '-',
        rate: typeof p.samplesPerSec === 'number' ? Math.round(p.samplesPerSec) : '-',
        left: typeof p.eta === 'number' ? `${p.eta.toFixed(1)}s` : '-',
      };
      if (bar === undefined) {
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: 'Epoch {ep} [{bar}] {value}/{total} - loss: {loss} - {rate} samples/s - ETA {left}',
            barsize: 30,
            hideCursor: false,
            clearOnComplete: true,
            fps: 10,
          },
          cliProgress.Presets.legacy,
        );
        bar.start(p.stepsPerEpoch, Math.min(p.step, p.stepsPerEpoch), payload);
        barEpoch = p.epoch;
      } else {
        bar.update(Math.min(p.step, p.stepsPerEpoch), payload);
      }
    },
    clear,
  };
}
