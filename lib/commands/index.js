'use strict';
// One module per subcommand: { help, options (node:util parseArgs), check, run }.
module.exports = {
  summary: require('./summary'),
  diff: require('./diff'),
  analyze: require('./analyze'),
  plot: require('./plot'),
  run: require('./run'),
  demo: require('./demo'),
  sites: require('./sites'),
};
