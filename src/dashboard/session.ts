// The dashboard's connection to the API: the typed client, with the API key when the server asks
// for one. A server with API keys answers 401 (WWW-Authenticate: Bearer) without one; only then is
// the key asked for, once, and kept in sessionStorage (this tab, until it closes), never in a URL.
// A loopback server without keys never answers 401, so nothing is asked.
import { createTraindClient, EventStreamError, TraindError, type FollowOptions, type JobEvent, type TraindClient } from '../client/index.js';
import { h } from './dom.js';

const STORAGE_KEY = 'traind.apiKey';

function isUnauthorized(err: unknown): boolean {
  return (err instanceof TraindError || err instanceof EventStreamError) && err.status === 401;
}

export class Session {
  client: TraindClient;
  private asking: Promise<void> | null = null;

  constructor(private readonly onKeyChange: () => void = () => undefined) {
    this.client = this.connect(this.key);
  }

  get key(): string | null {
    return sessionStorage.getItem(STORAGE_KEY);
  }

  /** Runs an API call; on 401 asks for the key (once for all callers) and runs it again. */
  async call<T>(run: (client: TraindClient) => Promise<T>): Promise<T> {
    for (;;) {
      const asked = this.client;
      try {
        return await run(asked);
      } catch (err) {
        if (!isUnauthorized(err)) throw err;
        // Another call may have got a key meanwhile: retry with it before asking again.
        if (this.client === asked) await this.askForKey(this.key !== null);
      }
    }
  }

  /** A job's events (client.followJob), asking for the key on 401 like call(). */
  async *follow(id: string, options: FollowOptions): AsyncGenerator<JobEvent> {
    let lastEventId = options.lastEventId;
    for (;;) {
      const asked = this.client;
      try {
        for await (const e of asked.followJob(id, { ...options, ...(lastEventId !== undefined ? { lastEventId } : {}) })) {
          lastEventId = e.id || lastEventId;
          yield e;
        }
        return;
      } catch (err) {
        if (!isUnauthorized(err)) throw err;
        if (this.client === asked) await this.askForKey(this.key !== null);
      }
    }
  }

  forget(): void {
    sessionStorage.removeItem(STORAGE_KEY);
    this.client = this.connect(null);
    this.onKeyChange();
  }

  private connect(key: string | null): TraindClient {
    // A wrapper, so the browser's fetch is always called on window.
    return createTraindClient({ baseUrl: location.origin, ...(key !== null ? { apiKey: key } : {}), fetch: (input, init) => fetch(input, init) });
  }

  private askForKey(refused: boolean): Promise<void> {
    this.asking ??= this.keyDialog(refused).finally(() => {
      this.asking = null;
    });
    return this.asking;
  }

  private keyDialog(refused: boolean): Promise<void> {
    return new Promise((resolve) => {
      const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-label': 'API key' });
      const form = h(
        'form',
        { class: 'key-form' },
        h('h2', {}, 'API key'),
        h('p', {}, 'This server has API keys configured. Enter yours: it is kept in this browser tab only (session storage) and sent as a Bearer header, never in a URL.'),
        refused ? h('p', { class: 'error', role: 'alert' }, 'The server refused the key given: enter another.') : null,
        input,
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Use this key')),
      );
      const dialog = h('dialog', { class: 'key-dialog', id: 'key-dialog' }, form);
      // Esc would close the dialog with nothing to retry: keep it open until a key is given.
      dialog.addEventListener('cancel', (e) => e.preventDefault());
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const key = input.value.trim();
        if (key === '') return;
        sessionStorage.setItem(STORAGE_KEY, key);
        this.client = this.connect(key);
        dialog.remove();
        this.onKeyChange();
        resolve();
      });
      document.body.append(dialog);
      dialog.showModal();
      input.focus();
    });
  }
}
