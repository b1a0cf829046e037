/** The `jit` program from source (what bin/jit.js runs from dist/), so the benchmark never measures a stale build. */
import { main } from '../services/cli/jit.js';

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
