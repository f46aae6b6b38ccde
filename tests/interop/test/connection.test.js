'use strict';
// Connection-level interop: pusher-js's handshake, its ping/pong liveness
// against a short activity timeout, its reaction to an unknown app key, and
// to the server's graceful shutdown.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { setup, uniq } = require('../lib/harness');

let env;
before(async () => {
  // 1 s activity timeout: pusher-js then pings after 1 s of silence.
  env = await setup({ extraToml: '[timeouts]\nactivity_timeout_ms = 1000\npong_timeout_ms = 5000\n' });
});
after(async () => {
  if (env) await env.teardown();
});

const hasCode = (code) => (e) => JSON.stringify(e).includes(`"code":${code}`);

test('handshake: pusher-js connects, socket id format, advertised activity timeout is used', async () => {
  const a = await env.connect('a');
  assert.match(a.socketId, /^\d+\.\d+$/);
  // pusher-js takes min(its own 120 s, the server's activity_timeout).
  assert.equal(a.pusher.connection.activityTimeout, 1000);
});

test('liveness: pusher-js pings a silent server and gets pusher:pong; the connection survives', async () => {
  const a = await env.connect('a');
  await a.frames.wait((f) => f.event === 'pusher:pong', 'pusher:pong', 5000);
  // Still usable afterwards.
  const name = uniq('alive-');
  await a.subscribe(name);
  await a.barrier(name);
  assert.equal(a.states.find((s) => s !== 'connecting' && s !== 'connected'), undefined, a.states.dump());
  assert.equal(a.pusher.connection.state, 'connected');
});

test('unknown app key: refused with 4001 and pusher-js stays disconnected', async () => {
  const x = env.client('wrong-key', { key: 'no-such-key' });
  await x.errors.wait(hasCode(4001), 'error with code 4001');
  await x.states.wait((s) => s === 'disconnected', 'disconnected');
  assert.equal(x.states.find((s) => s === 'connected'), undefined);
});

test('graceful shutdown: clients are closed with a reconnect code (pusher-js retries)', async () => {
  const a = await env.connect('a');
  const name = uniq('shutdown-');
  await a.subscribe(name);
  const closedWith = a.errors.wait(
    (e) => /"code":4[12]\d\d/.test(JSON.stringify(e)),
    'close error with a 41xx/42xx code',
  );
  env.server.proc.kill('SIGINT');
  const err = await closedWith;
  // 4100-4299: pusher-js backs off or retries instead of giving up.
  await a.states.wait((s) => s === 'connecting' || s === 'unavailable', 'pusher-js reconnecting');
  assert.equal(a.states.find((s) => s === 'disconnected'), undefined, `gave up after ${JSON.stringify(err)}`);
  a.disconnect();
});
