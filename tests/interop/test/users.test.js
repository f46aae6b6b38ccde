'use strict';
// User sign-in (pusher-js signin() with an SDK-backed authenticateUser
// handler), send-to-user and terminate_connections.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { setup, uniq } = require('../lib/harness');

let env;
before(async () => {
  env = await setup();
});
after(async () => {
  if (env) await env.teardown();
});

const s2u = (id) => `#server-to-user-${id}`;

/** Signs a client in and waits until its #server-to-user- channel is subscribed. */
async function signIn(client) {
  client.pusher.signin();
  const ok = await client.frames.wait((f) => f.event === 'pusher:signin_success', 'pusher:signin_success');
  await client.frames.wait(
    (f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === s2u(client.user.id),
    `subscription_succeeded on ${s2u(client.user.id)}`,
  );
  return ok;
}

/** Records what pusher-js surfaces on `pusher.user` (server-to-user events). */
function recordUser(client) {
  const { Log } = require('../lib/harness');
  const log = new Log(`${client.label} user events`);
  client.pusher.user.bind_global((event, data) => log.push({ event, data }));
  return log;
}

test('signin: pusher-js signs in with the SDK signature; user_data echoed', async () => {
  const alice = await env.connect('alice', { user: { id: 'alice', info: { name: 'Alice' } } });
  const ok = await signIn(alice);
  const userData = JSON.parse(ok.data.user_data);
  assert.equal(userData.id, 'alice');
  assert.deepEqual(userData.user_info, { name: 'Alice' });
  assert.equal(alice.pusher.user.user_data.id, 'alice');
  assert.equal(alice.pusher.connection.state, 'connected');
});

test('signin with a forged signature fails with pusher:error and no server-to-user subscription', async () => {
  const { PusherSDK } = require('../lib/harness');
  const forger = new PusherSDK({ appId: 'app-id', key: 'app-key', secret: 'wrong-secret' });
  const eve = await env.connect('eve', {
    user: { id: 'eve' },
    authenticate: (params) => forger.authenticateUser(params.socketId, { id: 'eve' }),
  });
  eve.pusher.signin();
  const err = await eve.frames.wait((f) => f.event === 'pusher:error', 'pusher:error after forged signin');
  assert.ok(err.data && (err.data.code === 4009 || err.data.code === null), JSON.stringify(err));
  assert.equal(eve.frames.find((f) => f.event === 'pusher:signin_success'), undefined);
  // A send-to-user for eve must not reach this connection.
  const pub = uniq('public-');
  await eve.subscribe(pub);
  await env.sdk.sendToUser('eve', 'should-not-arrive', {});
  await eve.barrier(pub);
  assert.equal(eve.frames.find((f) => f.event === 'should-not-arrive'), undefined);
});

test('sendToUser: every connection of the user gets it, other users and anonymous clients do not', async () => {
  const user = uniq('carol-');
  const c1 = await env.connect('carol1', { user: { id: user } });
  const c2 = await env.connect('carol2', { user: { id: user } });
  const dave = await env.connect('dave', { user: { id: uniq('dave-') } });
  const anon = await env.connect('anon');
  await Promise.all([signIn(c1), signIn(c2), signIn(dave)]);
  const u1 = recordUser(c1);
  const u2 = recordUser(c2);
  const uD = recordUser(dave);

  await env.sdk.sendToUser(user, 'direct', { for: user });
  assert.deepEqual((await u1.wait((e) => e.event === 'direct', 'direct at carol1')).data, { for: user });
  assert.deepEqual((await u2.wait((e) => e.event === 'direct', 'direct at carol2')).data, { for: user });

  // Barriers: dave through his own server-to-user channel, anon through a public channel.
  await env.sdk.sendToUser(dave.user.id, 'dave-marker', {});
  await uD.wait((e) => e.event === 'dave-marker', 'dave-marker');
  assert.equal(uD.find((e) => e.event === 'direct'), undefined, 'another user received a send-to-user event');
  const pub = uniq('public-');
  await anon.subscribe(pub);
  await anon.barrier(pub);
  assert.equal(anon.frames.find((f) => f.event === 'direct'), undefined);
});

test('presence channel on a signed-in connection uses the sign-in identity (no channel_data)', async () => {
  const name = uniq('presence-');
  const id = uniq('frank-');
  const frank = await env.connect('frank', { user: { id, info: { role: 'signed-in' } }, presenceFromSignin: true });
  await signIn(frank);
  const ch = await frank.subscribe(name);
  assert.equal(ch.members.count, 1);
  assert.equal(ch.members.me.id, id);
  assert.deepEqual(ch.members.me.info, { role: 'signed-in' });
  const users = await (await env.sdk.get({ path: `/channels/${name}/users` })).json();
  assert.deepEqual(users, { users: [{ id }] });
});

test('terminateUserConnections: closes every connection of that user (4009), leaves others connected', async () => {
  const user = uniq('gina-');
  const g1 = await env.connect('gina1', { user: { id: user } });
  const g2 = await env.connect('gina2', { user: { id: user } });
  const other = await env.connect('other', { user: { id: uniq('hank-') } });
  // Same id in a presence channel, but never signed in: must NOT be terminated.
  const presenceOnly = await env.connect('presence-only', { user: { id: user } });
  await Promise.all([signIn(g1), signIn(g2), signIn(other)]);
  const pres = uniq('presence-');
  await presenceOnly.subscribe(pres);

  await env.sdk.terminateUserConnections(user);

  for (const g of [g1, g2]) {
    const err = await g.errors.wait(
      (e) => e && e.type === 'PusherError' && e.data && e.data.code === 4009,
      `4009 error at ${g.label}`,
    );
    assert.equal(err.data.code, 4009);
    // 4009 is in 4000-4099: pusher-js gives up and stays disconnected.
    await g.states.wait((s) => s === 'disconnected', `${g.label} disconnected`);
  }

  // The others are unaffected and still receive events.
  const pub = uniq('public-');
  await other.subscribe(pub);
  await presenceOnly.subscribe(pub);
  await other.barrier(pub);
  await presenceOnly.barrier(pub);
  assert.equal(other.pusher.connection.state, 'connected');
  assert.equal(presenceOnly.pusher.connection.state, 'connected');
  assert.equal(presenceOnly.states.find((s) => s === 'disconnected'), undefined);
});

test('watchlist: pusher.user.watchlist reports online/offline of watched users', async () => {
  const watched = uniq('ivy-');
  const absent = uniq('jon-');
  const ivy = await env.connect('ivy', { user: { id: watched } });
  await signIn(ivy);
  const kim = await env.connect('kim', { user: { id: uniq('kim-'), watchlist: [watched, absent] } });
  const { Log } = require('../lib/harness');
  const wl = new Log('kim watchlist');
  kim.pusher.user.watchlist.bind_global((name, e) => wl.push({ name, user_ids: [...e.user_ids].sort() }));
  await signIn(kim);
  // Initial state after sign-in: ivy online, jon offline.
  await wl.wait((e) => e.name === 'online' && e.user_ids.includes(watched), 'online ivy');
  await wl.wait((e) => e.name === 'offline' && e.user_ids.includes(absent), 'offline jon');
  // ivy's only connection goes away: offline.
  ivy.disconnect();
  await wl.wait((e) => e.name === 'offline' && e.user_ids.includes(watched), 'offline ivy');
  const frame = kim.frames.find((f) => f.event === 'pusher_internal:watchlist_events');
  assert.ok(Array.isArray(frame.data.events), JSON.stringify(frame));
});
