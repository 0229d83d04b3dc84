'use strict';
// One module per subcommand: { help, options (node:util parseArgs), check, run }, loaded
// when its command runs (a command's start-up does not pay for the others').
const NAMES = ['summary', 'diff', 'analyze', 'plot', 'run', 'demo', 'sites', 'report'];

const commands = {};
for (const name of NAMES) {
  Object.defineProperty(commands, name, { enumerable: true, get: () => require(`./${name}`) });
}
module.exports = commands;
