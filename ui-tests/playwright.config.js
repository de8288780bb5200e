/**
 * Galata / Playwright configuration.
 *
 * Real Jupyter servers: one on a tiny random-weight model (port 8888) for
 * tests where the model's words do not matter, one on the embedded 1.5B model
 * (port 8889) for tests where they do, and one whose remote engine talks to a
 * scripted chat server (scripted_chat.py; port 8890) for tests that need a
 * predictable proposal (Fix, Edit). UI_PORT_TINY, UI_PORT_EMBEDDED and
 * UI_PORT_SCRIPTED change the ports. UI_SERVERS=tiny starts only the first
 * (and the scripted one: the tiny project runs tests/scripted too, each of
 * those files on the scripted server's URL).
 * Debian's chromium is used (Playwright's own download is unreachable here).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const servers = new Set((process.env.UI_SERVERS || 'tiny,embedded').split(','));
// The tiny project's quick tests include those on the scripted server.
if (servers.has('tiny')) {
  servers.add('scripted');
}
// UI_PORT_TINY / UI_PORT_SCRIPTED / UI_PORT_EMBEDDED move the servers, so that two checkouts can
// run their browser tests side by side.
const SERVERS = {
  tiny: { port: Number(process.env.UI_PORT_TINY || 8888), timeout: 180 * 1000 },
  // No model: it starts in seconds.
  scripted: {
    port: Number(process.env.UI_PORT_SCRIPTED || 8890),
    timeout: 120 * 1000
  },
  // First run on a fresh machine: download and convert the model (~3 min).
  embedded: {
    port: Number(process.env.UI_PORT_EMBEDDED || 8889),
    timeout: 600 * 1000
  }
};

module.exports = {
  ...baseConfig,
  timeout: 120 * 1000,
  expect: { timeout: 30 * 1000 },
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }]],
  use: {
    ...baseConfig.use,
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage'
      ]
    }
  },
  projects: [
    {
      name: 'tiny',
      // tests/scripted files set their own baseURL: the scripted server's.
      testMatch: ['tests/tiny/**/*.spec.ts', 'tests/scripted/**/*.spec.ts'],
      use: { baseURL: `http://localhost:${SERVERS.tiny.port}` }
    },
    {
      name: 'embedded',
      testMatch: 'tests/embedded/**/*.spec.ts',
      use: { baseURL: `http://localhost:${SERVERS.embedded.port}` }
    },
    {
      name: 'benchmark',
      testMatch: 'benchmarks/**/*.spec.ts',
      use: { baseURL: `http://localhost:${SERVERS.embedded.port}` }
    }
  ],
  webServer: [...servers].map(kind => ({
    command: `bash start-server.sh ${kind} ${SERVERS[kind].port}`,
    url: `http://localhost:${SERVERS[kind].port}/lab`,
    timeout: SERVERS[kind].timeout,
    reuseExistingServer: !process.env.CI,
    stdout: 'ignore',
    stderr: 'pipe'
  }))
};
