// A job's progress: epochs done of the maximum, and under it the epoch in progress (steps done,
// running loss, samples/s, ETA) from the server's `progress` events.
import { h } from './dom.js';
import type { EpochProgress } from './api.js';
import { fmtDuration, fmtNumber } from './format.js';

export class ProgressView {
  readonly el: HTMLElement;
  private readonly epochText = h('span', { class: 'epochs' });
  private readonly epochFill = h('div', { class: 'fill' });
  private readonly stepFill = h('div', { class: 'fill' });
  private readonly stepText = h('span', { class: 'step-text' });
  private readonly stepBar = h('div', { class: 'bar within', role: 'progressbar', 'aria-label': 'within the epoch', hidden: true }, this.stepFill);
  private epoch = 0;
  private epochs = 0;

  constructor() {
    this.el = h(
      'div',
      { class: 'progress' },
      this.epochText,
      h('div', { class: 'bar', role: 'progressbar', 'aria-label': 'epochs' }, this.epochFill),
      this.stepBar,
      this.stepText,
    );
  }

  /** Epochs done of the maximum; a finished epoch hides the within-epoch bar until the next progress event. */
  setEpochs(epoch: number, epochs: number, running: boolean): void {
    if (epoch !== this.epoch || !running) this.clearWithin();
    this.epoch = epoch;
    this.epochs = epochs;
    this.epochText.textContent = `${epoch} / ${epochs}`;
    this.epochFill.style.width = `${epochs > 0 ? Math.min(100, (100 * epoch) / epochs) : 0}%`;
  }

  setWithin(p: EpochProgress): void {
    if (p.epoch <= this.epoch) return; // a late event for an epoch already recorded
    // Training epoch N means N − 1 are done, even before the next poll of the job says so.
    if (p.epoch - 1 > this.epoch && this.epochs > 0) this.setEpochs(p.epoch - 1, this.epochs, true);
    const fraction = p.stepsPerEpoch > 0 ? Math.min(1, p.step / p.stepsPerEpoch) : 0;
    this.stepBar.hidden = false;
    this.stepBar.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
    this.stepFill.style.width = `${fraction * 100}%`;
    this.stepText.textContent = `epoch ${p.epoch}: ${p.step}/${p.stepsPerEpoch} · loss ${fmtNumber(p.loss)} · ${Math.round(p.samplesPerSec).toLocaleString()} samples/s · ETA\u00a0${fmtDuration(p.eta)}`;
  }

  private clearWithin(): void {
    this.stepBar.hidden = true;
    this.stepFill.style.width = '0%';
    this.stepText.textContent = '';
  }
}
