#!/usr/bin/env node
// `strata inspect|verify <dir>`: see bindings/cli/cli.ts.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
