'use strict';
// Channel queries through the SDK's signed get(): GET channels, channel info,
// presence users, cache info, and the `info` attributes of a trigger.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { setup, uniq, sdkGet } = require('../lib/harness');

let env;
before(async () => {
  env = await setup();
});
after(async () => {
  if (env) await env.teardown();
});

/** Expects the SDK call to reject with a RequestError of `status`. */
async function rejectsWith(promise, status) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.status, status, `status ${e.status}, body ${e.body}`);
    assert.ok(typeof e.body === 'string' && e.body.length > 0, 'readable error body');
    return true;
  });
}

test('GET /channels lists occupied channels, filter_by_prefix and info=user_count', async () => {
  const tag = uniq('q');
  const pub = `${tag}-public`;
  const priv = `private-${tag}`;
  const pres = `presence-${tag}`;
  const a = await env.connect('a', { user: { id: 'qa' } });
  const b = await env.connect('b', { user: { id: 'qb' } });
  const b2 = await env.connect('b2', { user: { id: 'qb' } });
  await a.subscribe(pub);
  await a.subscribe(priv);
  await a.subscribe(pres);
  await b.subscribe(pres);
  await b2.subscribe(pres);

  const all = await sdkGet(env.sdk, '/channels');
  for (const name of [pub, priv, pres]) {
    assert.deepEqual(all.channels[name], {}, `${name} listed without attributes: ${JSON.stringify(all)}`);
  }
  assert.equal(
    Object.keys(all.channels).some((n) => n.startsWith('#')),
    false,
    'internal channels must not be listed',
  );

  const filtered = await sdkGet(env.sdk, '/channels', { filter_by_prefix: 'presence-', info: 'user_count' });
  assert.deepEqual(filtered.channels[pres], { user_count: 2 }, JSON.stringify(filtered));
  assert.ok(Object.keys(filtered.channels).every((n) => n.startsWith('presence-')));

  const byPrefix = await sdkGet(env.sdk, '/channels', { filter_by_prefix: 'private-' });
  assert.deepEqual(byPrefix.channels[priv], {});
  assert.equal(byPrefix.channels[pub], undefined);

  // user_count without a presence- filter is a 400.
  await rejectsWith(env.sdk.get({ path: '/channels', params: { info: 'user_count' } }), 400);
});

test('GET /channels/NAME: occupied, subscription_count, user_count; unoccupied channel', async () => {
  const pub = uniq('info-');
  const pres = uniq('presence-info-');
  const a = await env.connect('a', { user: { id: 'ia' } });
  const b = await env.connect('b', { user: { id: 'ib' } });
  const a2 = await env.connect('a2', { user: { id: 'ia' } });
  await a.subscribe(pub);
  await b.subscribe(pub);
  await a.subscribe(pres);
  await a2.subscribe(pres);
  await b.subscribe(pres);

  assert.deepEqual(await sdkGet(env.sdk, `/channels/${pub}`, { info: 'subscription_count' }), {
    occupied: true,
    subscription_count: 2,
  });
  assert.deepEqual(await sdkGet(env.sdk, `/channels/${pub}`), { occupied: true });
  assert.deepEqual(await sdkGet(env.sdk, `/channels/${pres}`, { info: 'user_count' }), {
    occupied: true,
    user_count: 2,
  });
  assert.deepEqual(await sdkGet(env.sdk, `/channels/${uniq('never-used-')}`), { occupied: false });
  // user_count on a public channel is a 400.
  await rejectsWith(env.sdk.get({ path: `/channels/${pub}`, params: { info: 'user_count' } }), 400);
});

test('GET /channels/presence-NAME/users lists distinct users; non-presence is a 400', async () => {
  const pres = uniq('presence-users-');
  const a = await env.connect('a', { user: { id: 'u1', info: { n: 1 } } });
  const a2 = await env.connect('a2', { user: { id: 'u1', info: { n: 1 } } });
  const b = await env.connect('b', { user: { id: 'u2' } });
  await a.subscribe(pres);
  await a2.subscribe(pres);
  await b.subscribe(pres);
  const { users } = await sdkGet(env.sdk, `/channels/${pres}/users`);
  assert.deepEqual(users.map((u) => u.id).sort(), ['u1', 'u2']);
  for (const u of users) assert.deepEqual(Object.keys(u), ['id']);

  assert.deepEqual(await sdkGet(env.sdk, `/channels/${uniq('presence-empty-')}/users`), { users: [] });
  await rejectsWith(env.sdk.get({ path: `/channels/${uniq('public-')}/users` }), 400);
});

test('GET /channels/cache-NAME?info=cache returns the cached event data and a TTL', async () => {
  const name = uniq('cache-q-');
  const empty = await sdkGet(env.sdk, `/channels/${name}`, { info: 'cache' });
  assert.equal(empty.occupied, false);
  assert.equal(empty.cache, null, JSON.stringify(empty));
  await env.sdk.trigger(name, 'snap', { v: 7 });
  const r = await sdkGet(env.sdk, `/channels/${name}`, { info: 'cache' });
  assert.equal(r.occupied, false);
  assert.ok(r.cache, JSON.stringify(r));
  assert.equal(r.cache.data, JSON.stringify({ v: 7 }));
  assert.equal(typeof r.cache.ttl, 'number');
  assert.ok(r.cache.ttl > 0 && r.cache.ttl <= 60, `ttl ${r.cache.ttl}`);
});

test('trigger with info returns per-channel attributes', async () => {
  const pub = uniq('trig-info-');
  const pres = uniq('presence-trig-info-');
  const a = await env.connect('a', { user: { id: 't1' } });
  const b = await env.connect('b', { user: { id: 't2' } });
  await a.subscribe(pub);
  await b.subscribe(pub);
  await a.subscribe(pres);
  const r1 = await (await env.sdk.trigger(pub, 'e', {}, { info: 'subscription_count' })).json();
  assert.deepEqual(r1, { channels: { [pub]: { subscription_count: 2 } } });
  const r2 = await (await env.sdk.trigger(pres, 'e', {}, { info: 'user_count' })).json();
  assert.deepEqual(r2, { channels: { [pres]: { user_count: 1 } } });
  const r3 = await (await env.sdk.trigger(pub, 'e', {})).json();
  assert.deepEqual(r3, {});
});
