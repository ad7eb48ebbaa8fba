// Feedback state and revisions: a stable id per response+key+user, persisted in localStorage.

const P = 'fbw:';

/** Read a JSON value from localStorage, tolerating disabled storage. */
export function get(k) {
  try {
    return JSON.parse(localStorage.getItem(P + k));
  } catch {
    return null;
  }
}

/** Write a JSON value to localStorage (null removes it), tolerating disabled storage. */
export function put(k, v) {
  try {
    if (v == null) localStorage.removeItem(P + k);
    else localStorage.setItem(P + k, JSON.stringify(v));
  } catch {
    /* storage full or disabled: state lives in memory only */
  }
}

// cyrb53-style 53-bit string hash, hex encoded.
function hash(s, seed) {
  let a = 0xdeadbeef ^ seed;
  let b = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 2654435761);
    b = Math.imul(b ^ c, 1597334677);
  }
  a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  return (4294967296 * (2097151 & b) + (a >>> 0)).toString(16);
}

/** A pseudonymous per-browser user id, used when the host page gives none. */
export function anonUser() {
  let u = get('u');
  if (!u) put('u', (u = 'anon-' + hash(Math.random() + ':' + Date.now(), 7)));
  return u;
}

/** The stable feedback id for one response, feedback key and end user. */
export function feedbackId(response, key, user) {
  const s = response + '\n' + key + '\n' + user;
  return 'fw_' + hash(s, 1) + hash(s, 2);
}

/** The stored state of a feedback id (revision 0 when nothing was given yet). */
export function load(fid) {
  return { rev: 0, vote: 0, reasons: [], comment: '', correction: '', ...get('s:' + fid) };
}

/** A new revision of `s` with `patch` applied, persisted under `fid`. */
export function change(fid, s, patch) {
  const n = { ...s, ...patch, rev: s.rev + 1 };
  put('s:' + fid, n);
  return n;
}

/** Patch for pressing a thumb: the active one retracts, switching clears the other side's reasons. */
export function votePatch(s, v) {
  if (s.vote === v) return { vote: 0, reasons: [], comment: '', correction: '' };
  return { vote: v, reasons: s.vote ? [] : s.reasons };
}
