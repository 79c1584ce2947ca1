// Compresses as the server does (gzip -9, brotli quality 11, window 22) and
// prints the sizes a visitor downloads; exits 1 above the budget.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

// Issue 11: 170 KiB brotli, lighter than every comparable widget's first
// load (Chatwoot 170.4 KiB, Crisp about 180 KB, Intercom about 210 KB).
const BUDGET = { loaderGzip: 3 * 1024, widgetBrotli: 170 * 1024 };
const dist = process.argv[2] === '--inbox' ? process.argv[3] : process.argv[2];
const files = readdirSync(dist);
const one = (suffix) => {
  const found = files.filter((f) => f.endsWith(suffix) && f !== 'widget.js');
  if (found.length !== 1) throw new Error(`expected one *${suffix} in ${dist}, found ${found}`);
  return found[0];
};
const measure = (name) => {
  const raw = readFileSync(path.join(dist, name));
  return {
    name,
    raw: raw.length,
    gzip: zlib.gzipSync(raw, { level: 9 }).length,
    brotli: zlib.brotliCompressSync(raw, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_LGWIN]: 22 },
    }).length,
  };
};
const sum = (name, files) =>
  files.reduce((t, f) => ({ name, raw: t.raw + f.raw, gzip: t.gzip + f.gzip, brotli: t.brotli + f.brotli }), { raw: 0, gzip: 0, brotli: 0 });
const row = (f) => `${f.name.padEnd(48)} ${String(f.raw).padStart(9)} ${String(f.gzip).padStart(9)} ${String(f.brotli).padStart(9)}`;
console.log(`${'file'.padEnd(48)} ${'raw'.padStart(9)} ${'gzip'.padStart(9)} ${'brotli'.padStart(9)}`);

// `node bench/size.mjs --inbox crates/inbox/dist`: the team inbox's files,
// printed only (it has no budget of the widget's kind).
if (process.argv[2] === '--inbox') {
  const inbox = [one('_bg.wasm'), one('.js'), one('.css')].map(measure);
  for (const f of [...inbox, sum('inbox (wasm + js + css)', inbox)]) console.log(row(f));
  process.exit(0);
}
const loader = measure('widget.js');
const bundle = [one('_bg.wasm'), one('.js'), one('.css')].map(measure);
const total = sum('widget (wasm + js + css)', bundle);

for (const f of [loader, ...bundle, total]) console.log(row(f));
const over = [];
if (loader.gzip > BUDGET.loaderGzip) over.push(`loader ${loader.gzip} B gzip > ${BUDGET.loaderGzip}`);
if (total.brotli > BUDGET.widgetBrotli) over.push(`widget ${total.brotli} B brotli > ${BUDGET.widgetBrotli}`);
console.log(over.length ? `OVER BUDGET: ${over.join('; ')}` : 'within budget');
process.exit(over.length ? 1 : 0);
