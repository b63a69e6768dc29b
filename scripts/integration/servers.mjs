// Starts the real servers the integration tests and event benchmarks need, on 127.0.0.1 only, each on free
// ports in its own temporary folder: PostgreSQL 15, librdkafka's mock Kafka cluster (via kcat), OpenStack
// Swift with its S3 API, and Prometheus (with promtool). Missing Debian packages are installed. Anything that
// cannot start throws: the suites must fail loudly, never skip.
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  writeFileSync,
  chownSync,
  openSync,
  readFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const log = (message) => process.stderr.write(`[integration] ${message}\n`);

function commandExists(name) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs Debian packages for the commands that are missing. */
export function ensureDebianPackages(needs) {
  const missing = needs.filter(({ command }) => !commandExists(command) && !existsSync(command));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.flatMap((m) => m.packages))];
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${missing.map((m) => m.command).join(', ')}: run as root or apt-get install ${packages.join(' ')}`,
    );
  }
  log(`installing ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    stdio: 'inherit',
    env,
  });
  for (const m of missing) {
    if (!commandExists(m.command) && !existsSync(m.command))
      throw new Error(`${m.command} is still missing after installing ${m.packages}`);
  }
}

/** A free TCP port on 127.0.0.1 (bound then released, so a tiny race remains; servers fail loudly if lost). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, what, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin/initdb')))
    : [];
  const version = versions.includes('15') ? '15' : versions.sort((a, b) => Number(b) - Number(a))[0];
  return version ? path.join(root, version, 'bin') : undefined;
}

/** PostgreSQL (15 when installed) with trust auth for user postgres; returns its URL and a stop function. */
export async function startPostgres(dir) {
  if (!postgresBinDir())
    ensureDebianPackages([{ command: '/usr/lib/postgresql/15/bin/initdb', packages: ['postgresql-15'] }]);
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql');
  const data = path.join(dir, 'pgdata');
  const sockets = path.join(dir, 'pgsock');
  mkdirSync(data, { recursive: true });
  mkdirSync(sockets, { recursive: true });
  // initdb refuses to run as root: run the server as the postgres user, which owns its folders.
  const asPostgres = process.getuid?.() === 0;
  if (asPostgres) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    for (const p of [dir, data, sockets]) chownSync(p, uid, gid);
  }
  const run = (cmd, args) =>
    execFileSync(asPostgres ? 'runuser' : cmd, asPostgres ? ['-u', 'postgres', '--', cmd, ...args] : args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  run(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const logFile = path.join(dir, 'postgres.log');
  run(path.join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    logFile,
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c max_connections=200`,
    'start',
  ]);
  log(`PostgreSQL on 127.0.0.1:${port}`);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
      } catch (error) {
        log(`stopping PostgreSQL: ${error.message}`);
      }
    },
  };
}

/** librdkafka's mock cluster with 3 brokers, kept alive by a kcat process; returns its bootstrap servers. */
export async function startKafkaMock(dir) {
  ensureDebianPackages([{ command: 'kcat', packages: ['kcat'] }]);
  const child = spawn(
    'kcat',
    [
      '-C',
      '-t',
      'strata-bootstrap',
      '-b',
      '127.0.0.1:1',
      '-X',
      'test.mock.num.brokers=3',
      '-d',
      'mock',
      '-q',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: false,
    },
  );
  const brokers = await new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`kcat printed no mock cluster address:\n${text.slice(0, 2000)}`)),
      // Generous: on a loaded 2-core machine kcat has been seen to take longer than 20 s to report.
      60_000,
    );
    const onData = (chunk) => {
      text += chunk.toString();
      const match = /Mock cluster \S+ bootstrap\.servers=(\S+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        child.stderr.off('data', onData);
        // Keep draining the debug log (it grows with every request) so kcat never blocks on a full pipe.
        child.stderr.resume();
        resolve(match[1].split(','));
      } else if (text.length > 1_000_000) {
        text = text.slice(-10_000);
      }
    };
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`kcat exited with code ${code}:\n${text.slice(0, 2000)}`)));
  });
  for (const broker of brokers)
    await waitForPort(Number(broker.split(':')[1]), `mock broker ${broker}`, child);
  log(`Kafka mock cluster (pid ${child.pid}) on ${brokers.join(',')}`);
  return {
    brokers,
    pid: child.pid,
    stop: () => {
      if (child.exitCode === null) {
        child.kill('SIGCONT'); // in case a fault test left it paused
        child.kill('SIGTERM');
      }
    },
  };
}

/** OpenStack Swift (proxy + account + container + object servers) with the s3api middleware and tempauth. */
export async function startSwift(dir) {
  ensureDebianPackages([
    { command: 'swift-proxy-server', packages: ['swift-proxy'] },
    { command: 'swift-account-server', packages: ['swift-account'] },
    { command: 'swift-container-server', packages: ['swift-container'] },
    { command: 'swift-object-server', packages: ['swift-object'] },
  ]);
  const swiftDir = path.join(dir, 'swift');
  const devices = path.join(dir, 'swift-devices');
  mkdirSync(path.join(devices, 'sdb1'), { recursive: true });
  mkdirSync(swiftDir, { recursive: true });
  const user = os.userInfo().username;
  const ports = {
    account: await freePort(),
    container: await freePort(),
    object: await freePort(),
    proxy: await freePort(),
  };
  writeFileSync(
    path.join(swiftDir, 'swift.conf'),
    '[swift-hash]\nswift_hash_path_suffix = strata-it\nswift_hash_path_prefix = strata\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n',
  );
  const common = (port) =>
    `[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = ${port}\nworkers = 0\nuser = ${user}\nswift_dir = ${swiftDir}\ndevices = ${devices}\nmount_check = false\nlog_level = WARNING\n`;
  for (const kind of ['account', 'container', 'object']) {
    writeFileSync(
      path.join(swiftDir, `${kind}-server.conf`),
      `${common(ports[kind])}\n[pipeline:main]\npipeline = ${kind}-server\n\n[app:${kind}-server]\nuse = egg:swift#${kind}\n`,
    );
    const builder = path.join(swiftDir, `${kind}.builder`);
    execFileSync('swift-ring-builder', [builder, 'create', '10', '1', '1'], { stdio: 'ignore' });
    execFileSync('swift-ring-builder', [builder, 'add', `r1z1-127.0.0.1:${ports[kind]}/sdb1`, '100'], {
      stdio: 'ignore',
    });
    execFileSync('swift-ring-builder', [builder, 'rebalance'], { stdio: 'ignore' });
  }
  writeFileSync(
    path.join(swiftDir, 'proxy-server.conf'),
    `${common(ports.proxy)}
[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging cache listing_formats s3api tempauth copy dlo slo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:copy]
use = egg:swift#copy

[filter:dlo]
use = egg:swift#dlo

[filter:slo]
use = egg:swift#slo
`,
  );
  const children = [];
  for (const kind of ['account', 'container', 'object', 'proxy']) {
    const out = openSync(path.join(dir, `swift-${kind}.log`), 'a');
    const child = spawn(`swift-${kind}-server`, [path.join(swiftDir, `${kind}-server.conf`)], {
      stdio: ['ignore', out, out],
    });
    children.push(child);
    await waitForPort(ports[kind], `swift-${kind}-server`, child).catch((error) => {
      const logText = readFileSync(path.join(dir, `swift-${kind}.log`), 'utf8').slice(-3000);
      throw new Error(`${error.message}\n${logText}`);
    });
  }
  // The proxy answers /info once its middleware pipeline loaded.
  const endpoint = `http://127.0.0.1:${ports.proxy}`;
  const deadline = Date.now() + 30_000;
  while (
    (await fetch(`${endpoint}/info`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (Date.now() > deadline) throw new Error('Swift proxy did not answer /info');
    await sleep(100);
  }
  log(`Swift S3 API on ${endpoint}`);
  return {
    endpoint,
    accessKeyId: 'test:tester',
    secretAccessKey: 'testing',
    region: 'us-east-1',
    stop: () => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/**
 * Prometheus (the Debian package, which also brings promtool) scraping every second. Tests add targets by
 * writing file_sd JSON files into `targetsDir`, rules by writing rule files into `rulesDir` and calling
 * `reload()`, and the bearer token it scrapes /metrics with into `credentialsFile`.
 */
export async function startPrometheus(dir) {
  ensureDebianPackages([
    { command: 'prometheus', packages: ['prometheus'] },
    { command: 'promtool', packages: ['prometheus'] },
  ]);
  const home = path.join(dir, 'prometheus');
  const targetsDir = path.join(home, 'targets');
  const rulesDir = path.join(home, 'rules');
  const credentialsFile = path.join(home, 'scrape-token');
  for (const folder of [home, targetsDir, rulesDir, path.join(home, 'data')])
    mkdirSync(folder, { recursive: true });
  writeFileSync(credentialsFile, 'none\n');
  const configFile = path.join(home, 'prometheus.yml');
  writeFileSync(
    configFile,
    `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - ${JSON.stringify(path.join(rulesDir, '*.yaml'))}
scrape_configs:
  - job_name: strata
    authorization:
      type: Bearer
      credentials_file: ${JSON.stringify(credentialsFile)}
    file_sd_configs:
      - files:
          - ${JSON.stringify(path.join(targetsDir, '*.json'))}
        refresh_interval: 1s
`,
  );
  const port = await freePort();
  const out = openSync(path.join(dir, 'prometheus.log'), 'a');
  const child = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(home, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
    ],
    { stdio: ['ignore', out, out] },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForPort(port, 'prometheus', child).catch((error) => {
    throw new Error(
      `${error.message}\n${readFileSync(path.join(dir, 'prometheus.log'), 'utf8').slice(-3000)}`,
    );
  });
  const deadline = Date.now() + 30_000;
  while (
    (await fetch(`${url}/-/ready`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (Date.now() > deadline) throw new Error('Prometheus did not become ready');
    await sleep(100);
  }
  log(`Prometheus on ${url}`);
  return {
    url,
    targetsDir,
    rulesDir,
    credentialsFile,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
