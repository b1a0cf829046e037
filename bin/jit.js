#!/usr/bin/env node
// Entry point of the `jit` program: runs the compiled CLI (npm run build writes dist/).
import { ConfigError } from '../dist/services/shared/errors.js';
import { main } from '../dist/services/cli/jit.js';

try {
  const code = await main(process.argv.slice(2));
  if (code >= 0) process.exitCode = code;
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`jit: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`jit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
