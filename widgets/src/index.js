// Entry point: defines <feedback-widget> once and exposes the class and locale registry.

import { FeedbackWidget } from './element.js';
import { registerLocale } from './i18n.js';
import { start } from './transport.js';

if (!customElements.get('feedback-widget')) customElements.define('feedback-widget', FeedbackWidget);
start();

export { FeedbackWidget, registerLocale };
