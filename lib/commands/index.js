'use strict';
// One module per subcommand: { help, options (node:util parseArgs), check, run }.
module.exports = {
  summary: require('./summary'),
  diff: require('./diff'),
};
