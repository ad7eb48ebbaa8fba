// Transport: a persistent outbox (localStorage), one request in flight per feedback id,
// retry with exponential backoff + jitter honouring Retry-After, flush with keepalive on pagehide.

import { get, put } from './state.js';

const WEEK = 6048e5;
const busy = new Set();
const subs = new Set();
let timer = 0;
let started = false;

const queue = () => get('q') || {};

/** Milliseconds to wait before attempt `n`, from Retry-After when the server sent one. */
export function delay(n, retryAfter) {
  if (retryAfter) {
    const s = +retryAfter;
    const ms = s >= 0 ? s * 1e3 : Date.parse(retryAfter) - Date.now();
    if (ms >= 0) return ms + Math.random() * 250;
  }
  return Math.min(6e4, 1e3 * 2 ** (n - 1)) * (0.5 + Math.random() / 2);
}

/** Start sending the outbox left by earlier pages; back online sends at once, pagehide with keepalive. */
export function start() {
  if (started) return;
  started = true;
  addEventListener('online', () => flush(1));
  addEventListener('pagehide', () => flush(2));
  setTimeout(flush);
}

/** Listen for send outcomes: fn({e, status, data, retry}); returns an unsubscribe function. */
export function subscribe(fn) {
  subs.add(fn);
  return () => subs.delete(fn);
}

/** Queue the newest revision of a feedback id (replacing an unsent older one) and try to send. */
export function enqueue(e) {
  const q = queue();
  q[e.fid] = { ...e, n: 0, at: 0, t: Date.now() };
  put('q', q);
  flush();
}

/** Whether a feedback id still has an unsent revision. */
export const pending = (fid) => fid in queue();

/** Send due entries with no request in flight; mode 1 ignores backoff, 2 also uses keepalive (pagehide). */
export function flush(mode) {
  clearTimeout(timer);
  const q = queue();
  const now = Date.now();
  let next = Infinity;
  for (const fid in q) {
    const e = q[fid];
    if (now - e.t > WEEK) delete q[fid];
    else if (busy.has(fid)) continue;
    else if (!navigator.onLine) continue;
    else if (!mode && e.at > now) next = Math.min(next, e.at);
    else send(e, mode > 1);
  }
  put('q', q);
  if (next < Infinity) timer = setTimeout(flush, Math.max(next - now, 50));
}

async function send(e, keepalive) {
  busy.add(e.fid);
  let status = 0;
  let data = null;
  let ra = null;
  try {
    const r = await fetch(e.url, {
      method: 'POST',
      headers: e.h,
      body: JSON.stringify(e.b),
      keepalive: !!keepalive,
      credentials: 'omit',
    });
    status = r.status;
    ra = r.headers.get('Retry-After');
    data = await r.json().catch(() => null);
  } catch {
    /* network error: status stays 0 */
  }
  busy.delete(e.fid);
  const retry = !status || status === 408 || status === 429 || status >= 500;
  const q = queue();
  const cur = q[e.fid];
  if (cur && cur.r === e.r) {
    if (retry) {
      cur.n++;
      cur.at = Date.now() + delay(cur.n, ra);
    } else delete q[e.fid];
    put('q', q);
  }
  for (const fn of subs) fn({ e, status, data, retry });
  flush();
}
