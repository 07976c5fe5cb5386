// Preloaded into benchmarked processes: reports their peak resident set size on exit.
process.on('exit', () => {
  process.stderr.write(`\nRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
