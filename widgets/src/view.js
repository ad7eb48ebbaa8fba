// View: builds the widget's DOM (textContent only, no innerHTML) and reflects state onto it.

/** Create an element (in namespace `ns` if given): `on*` props become listeners, `text` sets textContent,
 * others attributes. */
export function h(tag, props, kids, ns) {
  const el = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const k in props) {
    const v = props[k];
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v != null && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  if (kids) el.append(...kids);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
// A thumb (cuff and hand, 24x24); outlined by default, filled by the stylesheet when pressed.
const THUMB = 'M3 11a1 1 0 0 1 1-1h1.5a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1zM9.5 10l3.5-7.5a2.8 2.8 0 0 1 ' +
  '2.8 2.9V9h3.4a2 2 0 0 1 2 2.3l-1.3 7.6A2.6 2.6 0 0 1 17.3 21H9.5z';

/** A decorative inline SVG icon (hidden from assistive tech; the button carries the name in words). */
const icon = (d, transform) =>
  h('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' }, [h('path', { d, transform }, 0, SVG)], SVG);

/** Build the widget skeleton into `root`; returns the named parts. */
export function build(root, t, on) {
  const thumb = (side, label, click, turn) =>
    h('button', { type: 'button', part: 'thumb thumb-' + side, 'aria-pressed': 'false', onclick: click },
      [icon(THUMB, turn && 'rotate(180 12 12)'), label]);
  const up = thumb('up', t.up, on.up);
  const down = thumb('down', t.down, on.down, 1);
  const more = h('button', {
    type: 'button', part: 'more', 'aria-expanded': 'false', 'aria-controls': 'fw-panel', hidden: true,
    onclick: on.more,
  }, [t.more, icon('M7 10l5 5 5-5')]);
  const chips = h('div', { class: 'row', role: 'group', 'aria-labelledby': 'fw-rl', part: 'reasons' });
  const reasonsLabel = h('span', { id: 'fw-rl', text: t.reasons });
  const comment = h('textarea', { part: 'comment', maxlength: '4000' });
  const correction = h('textarea', { part: 'correction', maxlength: '20000' });
  const corrLabel = h('label', { hidden: true }, [h('span', { text: t.correction }), correction]);
  const rating = h('div', { class: 'row', role: 'group', 'aria-labelledby': 'fw-ra', part: 'rating' });
  const ratingBox = h('div', { class: 'f', hidden: true }, [h('span', { id: 'fw-ra', text: t.rating }), rating]);
  const send = h('button', { type: 'button', part: 'send', onclick: on.send, text: t.send });
  const panel = h('div', { id: 'fw-panel', class: 'panel', part: 'panel', hidden: true, onkeydown: on.key }, [
    reasonsLabel, chips,
    h('label', {}, [h('span', { text: t.comment }), comment]),
    corrLabel, ratingBox, h('div', {}, [send]),
  ]);
  const status = h('div', { role: 'status', class: 'status', part: 'status' });
  const group = h('div', { role: 'group', 'aria-label': t.group, part: 'root', onkeydown: on.key }, [
    h('div', { class: 'row' }, [up, down, more, status]), panel,
  ]);
  root.replaceChildren(group);
  return { up, down, more, chips, reasonsLabel, comment, correction, corrLabel, rating, ratingBox, panel, status };
}

/** Fill a group with toggle buttons for items [{id, label}]; click(id, event) on press. */
export function toggles(box, items, click) {
  box.replaceChildren(
    ...items.map((it) => {
      const b = h('button', {
        type: 'button', part: 'chip', 'aria-pressed': 'false', text: it.label, onclick: (ev) => click(it.id, ev),
      });
      b.v = it.id;
      return b;
    }),
  );
}

/** Reflect pressed(id) onto each toggle's aria-pressed without rebuilding (keeps focus). */
export function sync(box, pressed) {
  for (const b of box.children) b.setAttribute('aria-pressed', String(pressed(b.v)));
}
