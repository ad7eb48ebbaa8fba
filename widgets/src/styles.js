// Styles: one constructable stylesheet shared by all instances (CSP-safe, no <style> or style=).

const css = `
:host{display:block;font:var(--fw-font,inherit);color:var(--fw-color,inherit)}
[hidden]{display:none!important}
.row{display:flex;flex-wrap:wrap;align-items:center;gap:var(--fw-gap,.375rem)}
button,textarea{font:inherit;color:inherit}
button{display:inline-flex;align-items:center;gap:.375rem;min-width:24px;min-height:24px;padding:.25rem .625rem;
font-size:.875em;line-height:1.25rem;border:1px solid var(--fw-border,#767676);border-radius:var(--fw-radius,.5rem);
background:var(--fw-bg,transparent);cursor:pointer;transition:background-color .15s,border-color .15s,color .15s}
button:hover{border-color:var(--fw-accent,#1a5fb4);background:var(--fw-hover,#1a5fb414)}
button[aria-pressed=true]{background:var(--fw-accent,#1a5fb4);border-color:var(--fw-accent,#1a5fb4);
color:var(--fw-accent-text,#fff)}
button:disabled{opacity:.5;cursor:default}
svg{width:var(--fw-icon,1.25em);height:var(--fw-icon,1.25em);flex:none;fill:none;stroke:currentColor;
stroke-width:2;stroke-linecap:round;stroke-linejoin:round;transition:transform .15s}
[aria-pressed=true] svg{fill:currentColor}
[part=more] svg{width:1em;height:1em}
[aria-expanded=true] svg{transform:rotate(180deg)}
:focus-visible{outline:2px solid var(--fw-focus,#1a5fb4);outline-offset:2px}
.panel{margin-top:.625rem;padding:.75rem;display:grid;gap:.625rem;max-width:32rem;
border:1px solid var(--fw-panel-border,#0000001f);border-radius:var(--fw-radius,.5rem);background:var(--fw-panel-bg,transparent)}
label,.f{display:grid;gap:.25rem}
span{font-size:.875em;font-weight:600}
textarea{min-height:3.5rem;padding:.375rem .5rem;border:1px solid var(--fw-border,#767676);border-radius:.375rem;
background:var(--fw-input-bg,transparent);resize:vertical}
[part=send]{background:var(--fw-accent,#1a5fb4);border-color:var(--fw-accent,#1a5fb4);color:var(--fw-accent-text,#fff)}
.status{font-size:.875em;color:var(--fw-muted);margin-inline-start:.25rem}
@media (prefers-reduced-motion:reduce){button,svg{transition:none}}
@media (forced-colors:active){button[aria-pressed=true]{border:3px solid Highlight;
forced-color-adjust:none;background:Highlight;color:HighlightText}}
`;

let sheet;

/** The shared stylesheet, created on first use. */
export function styles() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
  }
  return sheet;
}
