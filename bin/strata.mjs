#!/usr/bin/env node
// `strata inspect|verify <dir>`: see bindings/cli.ts.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
