// i18n: built-in English strings, addable locales, language from the `lang` attribute chain.

const locales = {
  en: {
    group: 'Rate this response',
    up: 'Helpful',
    down: 'Not helpful',
    more: 'Add details',
    reasons: 'What stood out?',
    comment: 'Comment (optional)',
    correction: 'Better answer (optional)',
    rating: 'Rating',
    send: 'Send details',
    thanks: 'Thanks for your feedback',
    offline: 'Saved, will send later',
    retracted: 'Feedback removed',
    error: 'Feedback could not be sent',
  },
};

/** Add or extend a locale, e.g. registerLocale('de', {up: 'Hilfreich', ...}). */
export function registerLocale(lang, table) {
  const k = lang.toLowerCase();
  locales[k] = { ...locales[k], ...table };
}

/** The language of `el`: nearest `lang` attribute, crossing shadow roots, else the browser's. */
export function langOf(el) {
  for (let n = el; n; n = n.parentNode || n.host) if (n.lang) return n.lang;
  return navigator.language || 'en';
}

/** Strings for `lang`, falling back from region to language to English. */
export function strings(lang) {
  const l = lang.toLowerCase();
  return { ...locales.en, ...locales[l.split('-')[0]], ...locales[l] };
}
