// Before the suite: build dist/, then pack it and prepare the toolchain of the consumer projects.
const buildDist = require('./build-dist');
const { installToolchain, packAndInstall } = require('./consumers/consumer-cache');

module.exports = function globalSetup() {
  buildDist();
  packAndInstall();
  installToolchain();
};
