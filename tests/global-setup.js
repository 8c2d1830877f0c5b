// Before the suite: build dist/, then pack it and prepare the toolchain of the consumer projects.
const buildDist = require('./build-dist');
const { installToolchain, packAndInstall } = require('./consumers/consumer-cache');
const { NOTICE, clusterTestsLeftOut } = require('./redis-server');

module.exports = function globalSetup() {
  if (clusterTestsLeftOut()) process.stdout.write(`\n${NOTICE}\n`);
  buildDist();
  packAndInstall();
  installToolchain();
};
