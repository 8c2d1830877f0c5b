// Whether the cluster tests can run: they start redis-server processes of their own. On a machine without
// redis-server they are left out, and the run says so in one line; where FORKPOOL_REQUIRE_REDIS is set (CI),
// they always run, and fail without it.
const { spawnSync } = require('node:child_process');

const INSTALL = 'sudo apt-get install -y redis-server (Debian, Ubuntu), brew install redis (macOS)';

/** True when the cluster tests are to be left out of this run. */
function clusterTestsLeftOut() {
  if (process.env.FORKPOOL_REQUIRE_REDIS) return false;
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error !== undefined;
}

/** The one line a run without redis-server prints. */
const NOTICE = `redis-server is not installed: the cluster tests (tests/cluster/, tests/slow/cluster/) are left out. To run them: ${INSTALL}`;

/** Where the cluster tests are, as jest path patterns. */
const CLUSTER_TESTS = ['<rootDir>/tests/cluster/', '<rootDir>/tests/slow/cluster/'];

module.exports = { clusterTestsLeftOut, NOTICE, INSTALL, CLUSTER_TESTS };
