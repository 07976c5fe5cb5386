#!/usr/bin/env node
// `int` runs from its own bundle (dist/cli/int-main.js, made by `npm run build`): one file instead
// of some sixty modules, since loading them one by one cost more than `int`'s own work. Every other
// command, and `int` after an option such as `--help int`, goes through the full CLI (as does
// `int` when only tsc has built dist/).
const argv = process.argv.slice(2);
const full = '../dist/src/cli/main.js';
const bundle = new URL('../dist/cli/int-main.js', import.meta.url);
const load = async (cli) => {
  try {
    return await import(cli);
  } catch (err) {
    if (cli === bundle.href && err?.code === 'ERR_MODULE_NOT_FOUND' && err.url === bundle.href) return import(full);
    throw err;
  }
};
const { main } = await load(argv[0] === 'int' || argv[0] === 'interpolate' ? bundle.href : full);

process.exitCode = await main(argv);
