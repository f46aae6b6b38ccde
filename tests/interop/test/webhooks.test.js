'use strict';
// Webhooks posted by the server to a Node http sink, each request checked with
// the SDK's webhook() helper (X-Pusher-Key / X-Pusher-Signature / content type).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { setup, uniq, Log, PusherSDK, APP_KEY } = require('../lib/harness');

let env;
let events; // every event of every valid webhook request, in arrival order
const invalid = []; // requests the SDK refused

before(async () => {
  env = await setup({ webhooks: true });
  events = new Log('webhook events');
  const check = (req) => {
    const hook = env.sdk.webhook({ headers: req.headers, rawBody: req.rawBody });
    if (!hook.isValid()) {
      invalid.push(req);
      return;
    }
    const timeMs = hook.getTime().getTime();
    for (const e of hook.getEvents()) events.push({ ...e, time_ms: timeMs });
  };
  env.sink.requests.items.forEach(check);
  env.sink.requests.onPush(check);
});
after(async () => {
  if (env) await env.teardown();
});

const ev = (name, channel, extra = {}) => (e) =>
  e.name === name && e.channel === channel && Object.entries(extra).every(([k, v]) => e[k] === v);

test('every webhook request is signed, keyed and typed so that the SDK accepts it', async () => {
  const name = uniq('hooked-');
  const a = await env.connect('a');
  await a.subscribe(name);
  await events.wait(ev('channel_occupied', name), 'channel_occupied');
  const req = env.sink.requests.items[0];
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/webhooks');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers['x-pusher-key'], APP_KEY);
  assert.match(req.headers['x-pusher-signature'], /^[0-9a-f]{64}$/);
  const hook = env.sdk.webhook({ headers: req.headers, rawBody: req.rawBody });
  assert.equal(hook.isValid(), true);
  const body = JSON.parse(req.rawBody);
  assert.equal(typeof body.time_ms, 'number');
  assert.ok(Array.isArray(body.events));
  // The check is meaningful: a tampered body or another secret fails it.
  assert.equal(env.sdk.webhook({ headers: req.headers, rawBody: req.rawBody.replace('"events"', '"events" ') }).isValid(), false);
  const other = new PusherSDK({ appId: 'app-id', key: APP_KEY, secret: 'other-secret' });
  assert.equal(other.webhook({ headers: req.headers, rawBody: req.rawBody }).isValid(), false);
  assert.deepEqual(invalid, [], 'requests the SDK refused');
});

test('channel_occupied / channel_vacated for a public channel', async () => {
  const name = uniq('occ-');
  const a = await env.connect('a');
  await a.subscribe(name);
  await events.wait(ev('channel_occupied', name), 'channel_occupied');
  a.pusher.unsubscribe(name);
  await events.wait(ev('channel_vacated', name), 'channel_vacated');
  assert.equal(events.filter(ev('channel_occupied', name)).length, 1);
});

test('member_added / member_removed once per user on a presence channel', async () => {
  const name = uniq('presence-hook-');
  const a1 = await env.connect('a1', { user: { id: 'wh-a' } });
  const a2 = await env.connect('a2', { user: { id: 'wh-a' } });
  await a1.subscribe(name);
  await a2.subscribe(name);
  await events.wait(ev('member_added', name, { user_id: 'wh-a' }), 'member_added wh-a');
  a1.disconnect();
  a2.disconnect();
  await events.wait(ev('member_removed', name, { user_id: 'wh-a' }), 'member_removed wh-a');
  await events.wait(ev('channel_vacated', name), 'channel_vacated');
  assert.equal(events.filter(ev('member_added', name)).length, 1, 'member_added per connection');
  assert.equal(events.filter(ev('member_removed', name)).length, 1, 'member_removed per connection');
});

test('client_event webhook with socket_id, data, and user_id on presence', async () => {
  const priv = uniq('private-hook-');
  const pres = uniq('presence-hook-');
  const a = await env.connect('a', { user: { id: 'wh-sender' } });
  const b = await env.connect('b', { user: { id: 'wh-recv' } });
  const chPriv = await a.subscribe(priv);
  await b.subscribe(priv);
  const chPres = await a.subscribe(pres);
  await b.subscribe(pres);
  chPriv.trigger('client-ping', { p: 1 });
  chPres.trigger('client-ping', { p: 2 });
  const e1 = await events.wait(ev('client_event', priv), 'client_event on private');
  assert.equal(e1.event, 'client-ping');
  assert.equal(e1.socket_id, a.socketId);
  assert.deepEqual(JSON.parse(e1.data), { p: 1 });
  assert.equal(e1.user_id, undefined);
  const e2 = await events.wait(ev('client_event', pres), 'client_event on presence');
  assert.equal(e2.user_id, 'wh-sender');
  assert.equal(e2.socket_id, a.socketId);
  assert.deepEqual(JSON.parse(e2.data), { p: 2 });
});

test('cache_miss webhook when subscribing to an empty cache channel', async () => {
  const name = uniq('cache-hook-');
  const a = await env.connect('a');
  const ch = a.pusher.subscribe(name);
  const log = a.record(ch);
  await log.wait((e) => e.event === 'pusher:cache_miss', 'pusher:cache_miss at client');
  await events.wait(ev('cache_miss', name), 'cache_miss webhook');
});

test('subscription_count webhook for a non-presence channel', async () => {
  const name = uniq('count-hook-');
  const a = await env.connect('a');
  const b = await env.connect('b');
  await a.subscribe(name);
  await b.subscribe(name);
  const e = await events.wait(
    (x) => x.name === 'subscription_count' && x.channel === name && x.subscription_count === 2,
    'subscription_count 2',
  );
  assert.equal(typeof e.subscription_count, 'number');
  assert.deepEqual(invalid, [], 'requests the SDK refused');
});
