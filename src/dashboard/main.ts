// The dashboard's entry: the session (API key when needed), the hash router (#/jobs, #/job/ID,
// #/compare?ids=…, #/submit, #/sweeps, #/sweep/ID) and the header's key state. Views talk to the API through the typed
// client only.
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { h, type View } from './dom.js';
import { Session } from './session.js';
import { compareView } from './views/compare.js';
import { jobView } from './views/job.js';
import { jobsView } from './views/jobs.js';
import { submitView } from './views/submit.js';
import { sweepView } from './views/sweep.js';
import { sweepsView } from './views/sweeps.js';

const main = document.getElementById('view')!;
const keyState = document.getElementById('key-state')!;
const session = new Session(showKeyState);
let current: View | null = null;

function showKeyState(): void {
  keyState.replaceChildren(session.key === null ? '' : h('span', {}, 'API key set · ', h('button', { type: 'button', class: 'link', onclick: () => session.forget() }, 'forget')));
}

function notFound(): View {
  return { el: h('section', { class: 'view' }, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/jobs' }, 'Back to the jobs'))), dispose: () => undefined };
}

function viewFor(hash: string): { nav: string; make: () => View } {
  const [route = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const params = new URLSearchParams(query);
  const [name, id] = route.split('/');
  if (name === '' || name === 'jobs') return { nav: 'jobs', make: () => jobsView(session, params) };
  if (name === 'job' && id !== undefined && /^job_[A-Za-z0-9]+$/.test(id)) return { nav: 'jobs', make: () => jobView(session, id) };
  if (name === 'compare') return { nav: 'compare', make: () => compareView(session, params) };
  if (name === 'sweeps') return { nav: 'sweeps', make: () => sweepsView(session) };
  if (name === 'sweep' && id !== undefined && /^sw_[A-Za-z0-9]+$/.test(id)) return { nav: 'sweeps', make: () => sweepView(session, id) };
  if (name === 'submit') return { nav: 'submit', make: () => submitView(session) };
  return { nav: '', make: notFound };
}

function route(): void {
  current?.dispose();
  const { nav, make } = viewFor(location.hash);
  current = make();
  main.replaceChildren(current.el);
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) a.classList.toggle('active', a.dataset.nav === nav);
}

window.addEventListener('hashchange', route);
showKeyState();
route();
