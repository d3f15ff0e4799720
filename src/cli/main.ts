#!/usr/bin/env node
// The `traind` executable (package.json "bin"): parses the command line and runs the command.
import { buildProgram } from './program.js';

await buildProgram({ stdout: process.stdout, stderr: process.stderr }).parseAsync(process.argv);
