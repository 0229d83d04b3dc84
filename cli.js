#!/usr/bin/env node
'use strict';
// The `leakwatch` command: parse arguments, call the library, print tables or JSON.
// Exit codes: 0 ok, 1 failure (bad input, unreadable file), 2 usage error, 3 leak found
// (with --fail-on-leak), 130 interrupted.

const { parseArgs } = require('node:util');
const { leakwatchError } = require('./lib/shared/errors');

const usage = (message) => leakwatchError('ERR_LEAKWATCH_USAGE', message);

const GENERAL_HELP = `leakwatch — find memory leaks in Node.js applications

Usage:
  leakwatch demo                            watch a bundled leaking app and name the culprit
  leakwatch run [options] -- <command...>   run an app under watch: stats, snapshots, analysis, plot
  leakwatch summary <file> [--top N] [--retained] [--json]
  leakwatch diff <before> <after> [--top N] [--json]
  leakwatch analyze <s1> <s2> <s3> [...] [--top N] [--json] [--fail-on-leak]
  leakwatch plot <stats.jsonl> -o <chart.svg|chart.png>
  leakwatch sites <file.heapprofile> [<later.heapprofile>] [--top N] [--json]
  leakwatch report <dir> | <files...> [-o report.html] [--redact]   the whole investigation as one HTML page

Run 'leakwatch <command> --help' for the options of one command.
Exit codes: 0 ok, 1 error, 2 usage error, 3 leak found (--fail-on-leak).`;

function main(argv) {
  const [name, ...rest] = argv;
  if (!name) {
    // No command is a usage error: the usage goes to stderr, stdout stays empty.
    process.stderr.write(GENERAL_HELP + '\n');
    return Promise.resolve(2);
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(GENERAL_HELP + '\n');
    return Promise.resolve(0);
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(require('./package.json').version + '\n');
    return Promise.resolve(0);
  }
  // Loaded here, not at the top: help and version need no native addon, and a missing
  // addon is reported by fail() like any other error.
  const commands = require('./lib/cli/commands');
  // This process is leakwatch's own: on Linux, snapshots are read through memory mappings
  // (no copy out of the page cache; a file truncated meanwhile is still
  // ERR_LEAKWATCH_TRUNCATED). Elsewhere this does nothing and read() stays.
  require('./lib/shared/native.js').enableMappedReads();
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) throw usage(`unknown command '${name}'`);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' messages can span lines; always end with where to read the options.
    throw usage(`${name}: ${error.message.trimEnd()}\nRun 'leakwatch ${name} --help' for its options.`);
  }
  if (parsed.values.help) {
    process.stdout.write(command.help + '\n');
    return Promise.resolve(0);
  }
  const problem = command.check && command.check(parsed);
  if (problem) throw usage(`${name}: ${problem}\n\n${command.help}`);
  return Promise.resolve(command.run(parsed));
}

function fail(error) {
  if (error && error.code === 'ERR_LEAKWATCH_USAGE') {
    process.stderr.write(`leakwatch: ${error.message}\n`);
    if (!/\n/.test(error.message)) process.stderr.write("Run 'leakwatch --help' for usage.\n");
    return 2;
  }
  const code = error && typeof error.code === 'string' && error.code.startsWith('ERR_LEAKWATCH_') ? ` (${error.code})` : '';
  process.stderr.write(`leakwatch: ${error && error.message ? error.message : error}${code}\n`);
  return 1;
}

// `--` ends leakwatch's own options (used by `run`); parseArgs keeps it as a positional.
let result;
try {
  result = main(process.argv.slice(2));
} catch (error) {
  result = Promise.resolve(fail(error));
}
result.then(
  (code) => {
    process.exitCode = typeof code === 'number' ? code : 0;
  },
  (error) => {
    process.exitCode = fail(error);
  },
);
