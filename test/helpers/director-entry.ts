// Runs the CLI from source (tests under tsx); the built CLI is bin/director.js.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
