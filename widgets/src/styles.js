// Styles: one constructable stylesheet shared by all instances (CSP-safe, no <style> or style=).

const css = `
:host{display:block;font:var(--fw-font,inherit);color:var(--fw-color,inherit)}
[hidden]{display:none!important}
.row{display:flex;flex-wrap:wrap;align-items:center;gap:var(--fw-gap,.375rem)}
button,textarea{font:inherit;color:inherit}
button{min-width:24px;min-height:24px;padding:.25rem .5rem;border:1px solid var(--fw-border,#767676);
border-radius:var(--fw-radius,.5rem);background:var(--fw-bg,transparent);cursor:pointer;
transition:background-color .15s,border-color .15s}
button:hover{border-color:var(--fw-accent,#1a5fb4)}
button[aria-pressed=true]{background:var(--fw-accent,#1a5fb4);border-color:var(--fw-accent,#1a5fb4);
color:var(--fw-accent-text,#fff);font-weight:700}
button:disabled{opacity:.5;cursor:default}
:focus-visible{outline:2px solid var(--fw-focus,#1a5fb4);outline-offset:2px}
.panel{margin-top:.5rem;display:grid;gap:.5rem;max-width:32rem}
label{display:grid;gap:.25rem}
textarea{min-height:3rem;padding:.25rem;border:1px solid var(--fw-border,#767676);border-radius:.25rem;
background:var(--fw-input-bg,transparent)}
.status{font-size:.875em}
@media (prefers-reduced-motion:reduce){button{transition:none}}
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
