// Builds the widget into feedback/static/widget/: an ES module (.mjs) and a classic script (.js).
import { build } from 'esbuild';

// Usage: node build.mjs [outdir]   (default: the service's static folder)
const out = process.argv[2] || '../feedback/static/widget';

const common = {
  entryPoints: ['src/index.js'],
  bundle: true,
  minify: true,
  target: ['es2022'],
  legalComments: 'none',
  logLevel: 'warning',
};

await build({ ...common, format: 'esm', outfile: `${out}/feedback-widget.mjs` });
await build({ ...common, format: 'iife', globalName: 'FeedbackWidget', outfile: `${out}/feedback-widget.js` });
