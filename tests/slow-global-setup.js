// Before `npm run test:slow`: build dist/, and say so when the cluster tests are left out.
const buildDist = require('./build-dist');
const { NOTICE, clusterTestsLeftOut } = require('./redis-server');

module.exports = function slowGlobalSetup() {
  if (clusterTestsLeftOut()) process.stdout.write(`\n${NOTICE}\n`);
  buildDist();
};
