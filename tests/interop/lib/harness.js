'use strict';
// Shared harness for the interop lane: starts reference-server with a config
// written at run time, runs a webhook sink, and wraps real pusher-js clients
// and the `pusher` Node SDK. Every wait is a promise bounded by a timeout;
// nothing here sleeps to synchronise.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');

// In Node, `require('pusher-js')` resolves to dist/node/pusher.js, which is the
// PusherWithEncryption build: it injects tweetnacl itself (options.nacl), so
// private-encrypted- channels work without extra wiring. The
// `pusher-js/with-encryption` subpath is the *web* build and fails in Node.
const PusherJS = require('pusher-js');
const PusherSDK = require('pusher');

const APP_ID = 'app-id';
const APP_KEY = 'app-key';
const APP_SECRET = 'app-secret';
// A fixed 32-byte master key (base64), only for these tests.
const MASTER_KEY_B64 = Buffer.from('pushcheck-interop-master-key-32b').toString('base64');

const DEFAULT_TIMEOUT_MS = Number(process.env.INTEROP_WAIT_MS || 5000);

const SERVER_BIN =
  process.env.REFERENCE_SERVER_BIN ||
  path.resolve(__dirname, '..', '..', '..', 'target', 'release', 'reference-server');

/** Rejects after `ms` with a message built by `describe()` (lazily, so it can dump state). */
function withTimeout(promise, ms, describe) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const what = typeof describe === 'function' ? describe() : describe;
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * An append-only log of items with promise-based waiting: `next(pred)` resolves
 * with the first item (already logged or future) matching `pred`.
 */
class Log {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = [];
    this.listeners = [];
  }

  /** Calls `fn` for every item logged from now on. */
  onPush(fn) {
    this.listeners.push(fn);
  }

  push(item) {
    this.items.push(item);
    for (const fn of this.listeners) fn(item);
    for (const w of [...this.waiters]) {
      if (w.pred(item)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(item);
      }
    }
  }

  find(pred) {
    return this.items.find(pred);
  }

  filter(pred) {
    return this.items.filter(pred);
  }

  /** Waits for an item matching `pred`, searching those already logged first. */
  wait(pred, what, ms = DEFAULT_TIMEOUT_MS) {
    const found = this.items.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    let waiter;
    const p = new Promise((resolve) => {
      waiter = { pred, resolve };
      this.waiters.push(waiter);
    });
    return withTimeout(p, ms, () => `${what} on ${this.name}; got ${this.dump()}`).finally(() => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }

  /** Waits for `n` items matching `pred` in total. */
  async waitCount(pred, n, what, ms = DEFAULT_TIMEOUT_MS) {
    const done = () => this.items.filter(pred).length >= n;
    if (done()) return this.items.filter(pred);
    await this.wait(() => done(), `${n} x ${what}`, ms);
    return this.items.filter(pred);
  }

  dump(max = 40) {
    const tail = this.items.slice(-max).map((x) => JSON.stringify(x));
    return `[${this.items.length} items]\n  ${tail.join('\n  ')}`;
  }
}

/** Writes the server's TOML config. */
function writeConfig(dir, { webhookUrl, appOverrides = {}, extraToml = '' } = {}) {
  const lines = [
    extraToml,
    '[webhooks]',
    'batch_window_ms = 10',
    'vacate_delay_ms = 0',
    '',
    '[[apps]]',
    `id = "${APP_ID}"`,
    `key = "${APP_KEY}"`,
    `secret = "${APP_SECRET}"`,
    'client_events = true',
    'user_authentication = true',
    'subscription_count = true',
    'cache_ttl_ms = 60000',
  ];
  for (const [k, v] of Object.entries(appOverrides)) lines.push(`${k} = ${JSON.stringify(v)}`);
  if (webhookUrl) {
    lines.push('', '[[apps.webhooks]]', `url = "${webhookUrl}"`);
  }
  // Self-test only (selftest.sh): switch on server misbehaviours; needs a
  // server built with `--features faults`.
  const faults = (process.env.INTEROP_FAULTS || '').split(',').filter(Boolean);
  if (faults.length) {
    lines.push('', '[faults]', ...faults.map((f) => `${f} = true`));
  }
  const file = path.join(dir, 'reference-server.toml');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Spawns reference-server on 127.0.0.1:0 and resolves once it prints its port. */
async function startServer(opts = {}) {
  if (!fs.existsSync(SERVER_BIN)) {
    throw new Error(`reference-server binary not found at ${SERVER_BIN} (set REFERENCE_SERVER_BIN)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pushcheck-interop-'));
  const configFile = writeConfig(dir, opts);
  const proc = spawn(SERVER_BIN, ['--bind', '127.0.0.1:0', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  let stdout = '';
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const port = await withTimeout(
    new Promise((resolve, reject) => {
      proc.stdout.on('data', (d) => {
        stdout += d;
        const m = /listening on ws:\/\/127\.0\.0\.1:(\d+)\/app\/app-key/.exec(stdout);
        if (m) resolve(Number(m[1]));
      });
      exited.then(({ code, signal }) =>
        reject(new Error(`reference-server exited early (code ${code}, signal ${signal}): ${stderr}`)),
      );
      proc.once('error', reject);
    }),
    10000,
    () => `reference-server to print its port (stdout: ${stdout}; stderr: ${stderr})`,
  );
  return {
    port,
    proc,
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGINT');
        try {
          await withTimeout(exited, 5000, 'reference-server to exit on SIGINT');
        } catch (e) {
          proc.kill('SIGKILL');
          await exited;
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An HTTP sink on 127.0.0.1:0 that records every webhook request. */
async function startWebhookSink() {
  const requests = new Log('webhook sink');
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method, url: req.url, headers: req.headers, rawBody });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function makeSdk(port) {
  return new PusherSDK({
    appId: APP_ID,
    key: APP_KEY,
    secret: APP_SECRET,
    host: '127.0.0.1',
    port: String(port),
    useTLS: false,
    encryptionMasterKeyBase64: MASTER_KEY_B64,
    timeout: 5000,
  });
}

/**
 * A real pusher-js client. Every decoded frame lands in `frames` (via the
 * connection's `message` event), every state change in `states`.
 * `user` ({id, info}) is used for presence channel_data and for sign-in.
 */
class Client {
  /**
   * Options: `user` ({id, info, watchlist}); `authorize(params, sdk)` to override what the
   * channel authorization handler returns (e.g. a forged signature);
   * `presenceFromSignin` to authorize presence channels without channel_data
   * (the member identity then comes from the sign-in, spec 7.1);
   * `authenticate(params, sdk)` to override what the user authentication
   * handler returns; `key` to connect with another app key.
   */
  constructor(env, label, { user, authorize, authenticate, presenceFromSignin = false, key = APP_KEY } = {}) {
    this.env = env;
    this.label = label;
    this.user = user;
    this.frames = new Log(`${label} frames`);
    this.states = new Log(`${label} states`);
    this.errors = new Log(`${label} errors`);
    this.authCalls = [];
    const sdk = env.sdk;
    this.pusher = new PusherJS(key, {
      wsHost: '127.0.0.1',
      wsPort: env.port,
      wssPort: env.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      cluster: 'local',
      enableStats: false,
      channelAuthorization: {
        customHandler: (params, callback) => {
          this.authCalls.push(params);
          try {
            if (authorize) {
              callback(null, authorize(params, sdk));
              return;
            }
            let presenceData;
            if (params.channelName.startsWith('presence-') && this.user && !presenceFromSignin) {
              presenceData = { user_id: this.user.id };
              if (this.user.info !== undefined) presenceData.user_info = this.user.info;
            }
            callback(null, sdk.authorizeChannel(params.socketId, params.channelName, presenceData));
          } catch (e) {
            callback(e, null);
          }
        },
      },
      userAuthentication: {
        customHandler: (params, callback) => {
          try {
            if (authenticate) {
              callback(null, authenticate(params, sdk));
              return;
            }
            if (!this.user) throw new Error(`${label} has no user to sign in`);
            const userData = { id: this.user.id };
            if (this.user.info !== undefined) userData.user_info = this.user.info;
            if (this.user.watchlist !== undefined) userData.watchlist = this.user.watchlist;
            callback(null, sdk.authenticateUser(params.socketId, userData));
          } catch (e) {
            callback(e, null);
          }
        },
      },
    });
    this.pusher.connection.bind('message', (m) => this.frames.push(m));
    this.pusher.connection.bind('state_change', (s) => this.states.push(s.current));
    this.pusher.connection.bind('error', (e) => this.errors.push(e));
    env.clients.push(this);
  }

  get socketId() {
    return this.pusher.connection.socket_id;
  }

  async connected() {
    await this.states.wait((s) => s === 'connected', 'state connected');
    return this;
  }

  /** Subscribes through pusher-js and resolves with the channel once the server confirmed it. */
  subscribe(name) {
    const channel = this.pusher.subscribe(name);
    const ok = this.frames.wait(
      (f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === name,
      `subscription_succeeded on ${name}`,
    );
    const failed = new Promise((_, reject) => {
      channel.bind('pusher:subscription_error', (e) =>
        reject(new Error(`${this.label}: subscription_error on ${name}: ${JSON.stringify(e)}`)),
      );
    });
    return Promise.race([ok, failed]).then(() => channel);
  }

  /**
   * Records every event a channel emits, as pusher-js surfaces them to the
   * app. pusher-js passes metadata (the presence `user_id` of a client event)
   * only to per-event callbacks, so the names in `withMetadata` are bound
   * individually and logged with their metadata instead.
   */
  record(channel, withMetadata = []) {
    const log = new Log(`${this.label} ${channel.name} events`);
    channel.bind_global((event, data) => {
      if (!withMetadata.includes(event)) log.push({ event, data });
    });
    for (const name of withMetadata) {
      channel.bind(name, (data, metadata) => log.push({ event: name, data, metadata: metadata || {} }));
    }
    return log;
  }

  /**
   * Barrier: publish a marker over REST on `channel` (one this client is
   * subscribed to) and wait until this client sees it. The server sends
   * frames to one connection in order, so anything enqueued for this client
   * before the publish has arrived by then.
   */
  async barrier(channel) {
    const id = crypto.randomUUID();
    await this.env.sdk.trigger(channel, 'barrier', { id });
    await this.frames.wait(
      (f) => f.event === 'barrier' && f.channel === channel && JSON.stringify(f.data).includes(id),
      `barrier ${id} on ${channel}`,
    );
  }

  disconnect() {
    this.pusher.disconnect();
  }
}

/** Starts a server (+ optional webhook sink) for one test file. */
async function setup({ webhooks = false, extraToml = '', appOverrides = {} } = {}) {
  const env = { clients: [] };
  if (webhooks) env.sink = await startWebhookSink();
  env.server = await startServer({ webhookUrl: env.sink && env.sink.url, extraToml, appOverrides });
  env.port = env.server.port;
  env.sdk = makeSdk(env.port);
  env.client = (label, opts) => new Client(env, label, opts);
  env.connect = (label, opts) => new Client(env, label, opts).connected();
  env.teardown = async () => {
    for (const c of env.clients) {
      try {
        c.disconnect();
      } catch (_) {
        // already gone
      }
    }
    await env.server.stop();
    if (env.sink) await env.sink.close();
  };
  return env;
}

/** A channel name unique to this run. */
function uniq(prefix) {
  return `${prefix}${crypto.randomBytes(4).toString('hex')}`;
}

/**
 * Polls an async predicate (e.g. a REST query) until it holds, bounded by `ms`.
 * Each try is a real round trip, used only where the protocol offers no event
 * to wait for (server-side effects of a close, say).
 */
async function waitFor(pred, what, ms = DEFAULT_TIMEOUT_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await pred();
    if (last === true) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setImmediate(r));
  }
}

/** GET through the SDK; resolves with the parsed JSON body. */
async function sdkGet(sdk, pathName, params) {
  const res = await sdk.get({ path: pathName, params });
  return res.json();
}

module.exports = {
  APP_ID,
  APP_KEY,
  APP_SECRET,
  MASTER_KEY_B64,
  DEFAULT_TIMEOUT_MS,
  SERVER_BIN,
  PusherJS,
  PusherSDK,
  Log,
  withTimeout,
  setup,
  uniq,
  sdkGet,
  waitFor,
};
