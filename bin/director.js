#!/usr/bin/env node
// `int` runs from its own bundle (dist/cli/int-main.js, made by `npm run build`): one file instead
// of some sixty modules, since loading them one by one cost more than `int`'s own work. Every other
// command, and `int` after an option such as `--help int`, goes through the full CLI.
const argv = process.argv.slice(2);
const cli = argv[0] === 'int' || argv[0] === 'interpolate' ? '../dist/cli/int-main.js' : '../dist/src/cli/main.js';
const { main } = await import(cli);

process.exitCode = await main(argv);
