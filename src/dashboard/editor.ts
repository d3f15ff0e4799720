// The JSON spec editor: a plain textarea over a mirror of its lines, so lines the API (or the JSON
// parser) finds fault with are highlighted in place, their message written at the end of the line
// and marked in the line-number gutter.
import { h } from './dom.js';

export interface Marker {
  /** 0-based line. */
  line: number;
  path: string;
  message: string;
}

export class SpecEditor {
  readonly el: HTMLElement;
  readonly textarea: HTMLTextAreaElement;
  private readonly gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  private readonly mirror = h('div', { class: 'mirror', 'aria-hidden': 'true' });
  private markers: Marker[] = [];

  constructor(initial: string) {
    this.textarea = h('textarea', { class: 'code', id: 'spec', wrap: 'off', spellcheck: 'false', autocapitalize: 'off', 'aria-label': 'job spec (JSON)' });
    this.textarea.value = initial;
    this.el = h('div', { class: 'editor' }, this.gutter, h('div', { class: 'code-area' }, this.mirror, this.textarea));
    // Editing invalidates the marks (lines move): they come back with the next submission.
    this.textarea.addEventListener('input', () => this.setMarkers([]));
    this.textarea.addEventListener('scroll', () => this.syncScroll());
    this.render();
  }

  get text(): string {
    return this.textarea.value;
  }

  set text(value: string) {
    this.textarea.value = value;
    this.setMarkers([]);
  }

  setMarkers(markers: Marker[]): void {
    this.markers = markers;
    this.render();
    const first = Math.min(...markers.map((m) => m.line));
    if (Number.isFinite(first)) {
      // The first marked line in view, a few lines below the top.
      const lineHeight = parseFloat(getComputedStyle(this.textarea).lineHeight) || 20;
      this.textarea.scrollTop = Math.max(0, (first - 3) * lineHeight);
      this.syncScroll();
    }
  }

  /** Puts the caret on a range and scrolls it into view. */
  select(start: number, end: number): void {
    this.textarea.focus();
    this.textarea.setSelectionRange(start, end);
  }

  private render(): void {
    const lines = this.textarea.value.split('\n');
    const byLine = new Map<number, Marker[]>();
    for (const m of this.markers) byLine.set(m.line, [...(byLine.get(m.line) ?? []), m]);
    this.gutter.replaceChildren(
      ...lines.map((_, n) => {
        const marks = byLine.get(n);
        return h('div', { class: marks ? 'ln err' : 'ln', title: marks?.map((m) => m.message).join('\n') ?? null }, String(n + 1));
      }),
    );
    this.mirror.replaceChildren(
      ...lines.map((line, n) => {
        const marks = byLine.get(n);
        return h(
          'div',
          { class: marks ? 'ml err-line' : 'ml' },
          h('span', { class: 'text' }, line === '' ? ' ' : line),
          marks ? h('span', { class: 'inline-msg field-error', 'data-path': marks.map((m) => m.path).join(' ') }, `  ← ${marks.map((m) => `${m.path || '(root)'}: ${m.message}`).join('; ')}`) : null,
        );
      }),
    );
    this.syncScroll();
  }

  private syncScroll(): void {
    this.mirror.scrollTop = this.textarea.scrollTop;
    this.mirror.scrollLeft = this.textarea.scrollLeft;
    this.gutter.scrollTop = this.textarea.scrollTop;
  }
}
