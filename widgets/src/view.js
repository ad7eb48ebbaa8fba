// View: builds the widget's DOM (textContent only, no innerHTML) and reflects state onto it.

/** Create an element: `on*` props become listeners, `text` sets textContent, others attributes. */
export function h(tag, props, kids) {
  const el = document.createElement(tag);
  for (const k in props) {
    const v = props[k];
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v != null && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  if (kids) el.append(...kids);
  return el;
}

const glyph = (t) => h('span', { 'aria-hidden': 'true', text: t });

/** Build the widget skeleton into `root`; returns the named parts. */
export function build(root, t, on) {
  const up = h('button', { type: 'button', part: 'thumb thumb-up', 'aria-pressed': 'false', onclick: on.up }, [
    glyph('\u{1F44D}'),
    h('span', { text: ' ' + t.up }),
  ]);
  const down = h('button', { type: 'button', part: 'thumb thumb-down', 'aria-pressed': 'false', onclick: on.down }, [
    glyph('\u{1F44E}'),
    h('span', { text: ' ' + t.down }),
  ]);
  const more = h('button', {
    type: 'button', part: 'more', 'aria-expanded': 'false', 'aria-controls': 'fw-panel', hidden: true,
    onclick: on.more, text: t.more,
  });
  const chips = h('div', { class: 'row', role: 'group', 'aria-labelledby': 'fw-rl', part: 'reasons' });
  const reasonsLabel = h('span', { id: 'fw-rl', text: t.reasons });
  const comment = h('textarea', { part: 'comment', maxlength: '4000' });
  const correction = h('textarea', { part: 'correction', maxlength: '20000' });
  const corrLabel = h('label', { hidden: true }, [h('span', { text: t.correction }), correction]);
  const rating = h('div', { class: 'row', role: 'group', 'aria-labelledby': 'fw-ra', part: 'rating' });
  const ratingBox = h('div', { hidden: true }, [h('span', { id: 'fw-ra', text: t.rating }), rating]);
  const send = h('button', { type: 'button', part: 'send', onclick: on.send, text: t.send });
  const panel = h('div', { id: 'fw-panel', class: 'panel', part: 'panel', hidden: true, onkeydown: on.key }, [
    reasonsLabel, chips,
    h('label', {}, [h('span', { text: t.comment }), comment]),
    corrLabel, ratingBox, h('div', {}, [send]),
  ]);
  const status = h('div', { role: 'status', class: 'status', part: 'status' });
  const group = h('div', { role: 'group', 'aria-label': t.group, part: 'root', onkeydown: on.key }, [
    h('div', { class: 'row' }, [up, down, more]), panel, status,
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
