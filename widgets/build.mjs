// Builds the widget into feedback/static/widget/: an ES module (.mjs) and a classic script (.js).
import { build } from 'esbuild';

const common = {
  entryPoints: ['src/index.js'],
  bundle: true,
  minify: true,
  target: ['es2022'],
  legalComments: 'none',
  logLevel: 'warning',
};

await build({ ...common, format: 'esm', outfile: '../feedback/static/widget/feedback-widget.mjs' });
await build({ ...common, format: 'iife', globalName: 'FeedbackWidget', outfile: '../feedback/static/widget/feedback-widget.js' });
