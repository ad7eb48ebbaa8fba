// The <feedback-widget> custom element: wires state, transport, i18n and view together.

import { langOf, strings } from './i18n.js';
import { anonUser, change, feedbackId, load, votePatch } from './state.js';
import { styles } from './styles.js';
import { enqueue, subscribe } from './transport.js';
import { build, sync, toggles } from './view.js';

const configs = new Map();

export class FeedbackWidget extends HTMLElement {
  static observedAttributes = ['response-id', 'token', 'widget-key', 'endpoint', 'key', 'user-id', 'lang',
    'correction', 'rating-key'];

  constructor() {
    super();
    this.attachShadow({ mode: 'open' }).adoptedStyleSheets = [styles()];
  }

  connectedCallback() {
    this.off = subscribe((r) => this.outcome(r));
    this.setup();
  }

  disconnectedCallback() {
    this.off();
    this.off = null;
  }

  attributeChangedCallback() {
    if (this.off) this.setup();
  }

  /** Read attributes, restore stored state and (re)build the view. */
  setup() {
    const a = (n) => this.getAttribute(n);
    this.rid = a('response-id');
    this.auth = a('token') || a('widget-key');
    this.ready = !!(this.rid && this.auth);
    this.base = (a('endpoint') || '').replace(/\/$/, '') + '/api/v1/';
    this.lang = langOf(this);
    this.t = strings(this.lang);
    const user = a('user-id') || anonUser();
    const slot = (key) => key && { key, fid: feedbackId(this.rid, key, user), s: load(feedbackId(this.rid, key, user)) };
    this.m = slot(a('key') || 'helpfulness');
    this.r = slot(a('rating-key'));
    this.cfg = this.cfg || {};
    this.side = null;
    this.v = build(this.shadowRoot, this.t, {
      up: (ev) => this.vote(1, ev),
      down: (ev) => this.vote(-1, ev),
      more: () => this.open(this.v.panel.hidden),
      send: () => this.submit(),
      key: (ev) => ev.key === 'Escape' && !this.v.panel.hidden && (this.open(false), this.v.more.focus()),
    });
    this.reset();
    if (this.ready) this.config();
  }

  /** Fetch (once per endpoint, credential and language) the reason taxonomy and rating scales. */
  async config() {
    const url = this.base + 'widget/config?lang=' + encodeURIComponent(this.lang);
    const id = url + ' ' + this.auth;
    if (!configs.has(id)) {
      configs.set(id, fetch(url, { headers: this.headers(), credentials: 'omit' })
        .then((r) => (r.ok ? r.json() : {}))
        .catch(() => (configs.delete(id), {})));
    }
    this.cfg = await configs.get(id);
    this.render();
  }

  headers() {
    const h = { 'Content-Type': 'application/json' };
    h[this.auth.startsWith('fl_') ? 'Authorization' : 'X-Feedback-Token'] =
      this.auth.startsWith('fl_') ? 'Bearer ' + this.auth : this.auth;
    return h;
  }

  /** Thumb press: the second click of a double click is ignored, so it sends one request. */
  vote(v, ev) {
    if (ev.detail > 1 || !this.ready) return;
    this.commit(this.m, votePatch(this.m.s, v));
    this.reset();
    this.open(!!this.m.s.vote);
  }

  /** Panel "send": store reasons, comment, correction (and rating) as new revisions if they changed. */
  submit() {
    const { s } = this.m;
    const p = { reasons: this.d.reasons, comment: this.v.comment.value.trim(), correction: this.v.correction.value.trim() };
    if (s.vote && JSON.stringify([s.reasons, s.comment, s.correction]) !== JSON.stringify(Object.values(p))) {
      this.commit(this.m, p);
    }
    if (this.r && this.d.rating !== (this.r.s.vote || null)) this.commit(this.r, { vote: this.d.rating || 0 });
    this.open(false);
    this.v.more.focus();
  }

  /** Make a new revision of one feedback slot and queue it (a retract when its score is cleared). */
  commit(slot, patch) {
    const s = (slot.s = change(slot.fid, slot.s, patch));
    const fid = slot.fid;
    const b = s.vote ? {
      feedback_id: fid, revision: s.rev, key: slot.key, score: s.vote, reasons: s.reasons,
      comment: s.comment || null, correction: s.correction || null,
      interaction_id: /^\d+$/.test(this.rid) ? +this.rid : this.rid,
    } : { revision: s.rev };
    if (s.vote && this.auth.startsWith('fl_')) b.end_user_id = this.getAttribute('user-id') || anonUser();
    const url = this.base + 'feedback' + (s.vote ? '' : '/' + fid + '/retract');
    enqueue({ fid, r: s.rev, url, h: this.headers(), b });
    if (!navigator.onLine) this.say(this.t.offline);
    this.emit('change', { feedbackId: fid, key: slot.key, revision: s.rev, score: s.vote || null,
      reasons: s.reasons, comment: s.comment, correction: s.correction, retracted: !s.vote });
    this.render();
  }

  /** Handle a transport outcome for one of this widget's feedback ids. */
  outcome({ e, status, data, retry }) {
    if (e.fid !== this.m.fid && e.fid !== this.r?.fid) return;
    const retracting = !('score' in e.b);
    const detail = { feedbackId: e.fid, revision: e.r, status, retry, response: data };
    if ((status > 199 && status < 300) || (retracting && status === 404)) {
      this.say(retracting ? this.t.retracted : this.t.thanks);
      this.emit('sent', detail);
    } else {
      this.say(retry ? this.t.offline : this.t.error);
      this.emit('error', detail);
    }
  }

  reset() {
    this.d = { reasons: [...this.m.s.reasons], rating: this.r?.s.vote || null };
    this.v.comment.value = this.m.s.comment;
    this.v.correction.value = this.m.s.correction;
    this.render();
  }

  open(show) {
    this.v.panel.hidden = !show;
    this.v.more.setAttribute('aria-expanded', String(show));
  }

  render() {
    const { v, m, d, cfg } = this;
    const vote = m.s.vote;
    v.up.disabled = v.down.disabled = !this.ready;
    v.up.setAttribute('aria-pressed', String(vote === 1));
    v.down.setAttribute('aria-pressed', String(vote === -1));
    v.more.hidden = !vote;
    if (!vote) this.open(false);
    const side = vote > 0 ? 'positive' : 'negative';
    const items = (cfg.reasons && cfg.reasons[side]) || [];
    if (this.side !== side + items.length) {
      this.side = side + items.length;
      toggles(v.chips, items, (id) => {
        const r = this.d.reasons;
        this.d.reasons = r.includes(id) ? r.filter((x) => x !== id) : [...r, id];
        this.render();
      });
    }
    sync(v.chips, (id) => d.reasons.includes(id));
    v.chips.hidden = v.reasonsLabel.hidden = !items.length;
    v.corrLabel.hidden = !this.hasAttribute('correction');
    const scale = this.r && cfg.scales && cfg.scales[this.r.key];
    v.ratingBox.hidden = !scale;
    if (scale && !v.rating.firstChild) {
      const items = [];
      for (let n = scale[0]; n <= scale[1]; n++) items.push({ id: n, label: String(n) });
      toggles(v.rating, items, (n) => {
        this.d.rating = this.d.rating === n ? null : n;
        this.render();
      });
    }
    if (scale) sync(v.rating, (n) => d.rating === n);
  }

  say(text) {
    this.v.status.textContent = text;
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent('feedback-' + name, { detail, bubbles: true, composed: true }));
  }
}
