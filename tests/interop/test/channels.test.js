'use strict';
// Public, private, presence, private-encrypted and cache channels, driven by
// pusher-js subscribers and the pusher Node SDK as publisher / authorizer.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { setup, uniq, waitFor } = require('../lib/harness');

let env;
before(async () => {
  env = await setup();
});
after(async () => {
  if (env) await env.teardown();
});

const onChannel = (name, event) => (f) => f.channel === name && f.event === event;

test('public channel: SDK trigger reaches pusher-js subscribers, with string and object data', async () => {
  const a = await env.connect('a');
  const b = await env.connect('b');
  assert.match(a.socketId, /^\d+\.\d+$/);
  assert.notEqual(a.socketId, b.socketId);
  const name = uniq('public-');
  const chA = await a.subscribe(name);
  const chB = await b.subscribe(name);
  const evA = a.record(chA);
  const evB = b.record(chB);

  await env.sdk.trigger(name, 'greeting', { hello: 'world', n: 1 });
  await env.sdk.trigger(name, 'plain', 'just a string');

  for (const ev of [evA, evB]) {
    const obj = await ev.wait((e) => e.event === 'greeting', 'greeting');
    assert.deepEqual(obj.data, { hello: 'world', n: 1 });
    const str = await ev.wait((e) => e.event === 'plain', 'plain');
    assert.equal(str.data, 'just a string');
  }
  // The wire frame carries data as the exact string the SDK sent.
  const frame = await a.frames.wait(onChannel(name, 'greeting'), 'greeting frame');
  assert.deepEqual(frame, { event: 'greeting', channel: name, data: { hello: 'world', n: 1 } });
});

test('public channel: multi-channel trigger, triggerBatch and socket_id exclusion', async () => {
  const a = await env.connect('a');
  const b = await env.connect('b');
  const c1 = uniq('multi-');
  const c2 = uniq('multi-');
  await a.subscribe(c1);
  await a.subscribe(c2);
  await b.subscribe(c1);

  // One event to two channels: a (on both) gets two frames, b gets one.
  await env.sdk.trigger([c1, c2], 'fan', { k: 'v' });
  await a.frames.wait(onChannel(c1, 'fan'), 'fan on c1');
  await a.frames.wait(onChannel(c2, 'fan'), 'fan on c2');
  await b.frames.wait(onChannel(c1, 'fan'), 'fan on c1 (b)');

  // Batch of two events to different channels.
  await env.sdk.triggerBatch([
    { channel: c1, name: 'batch-1', data: { i: 1 } },
    { channel: c2, name: 'batch-2', data: { i: 2 } },
  ]);
  assert.deepEqual((await a.frames.wait(onChannel(c1, 'batch-1'), 'batch-1')).data, { i: 1 });
  assert.deepEqual((await a.frames.wait(onChannel(c2, 'batch-2'), 'batch-2')).data, { i: 2 });
  await b.frames.wait(onChannel(c1, 'batch-1'), 'batch-1 (b)');

  // Exclusion: a's socket id excluded, b still receives.
  await env.sdk.trigger(c1, 'not-for-a', { x: 1 }, { socket_id: a.socketId });
  await b.frames.wait(onChannel(c1, 'not-for-a'), 'excluded event at b');
  await a.barrier(c1);
  assert.equal(a.frames.find(onChannel(c1, 'not-for-a')), undefined, 'excluded socket received the event');
});

test('private channel: SDK authorizeChannel signature accepted, events delivered', async () => {
  const a = await env.connect('a');
  const name = uniq('private-');
  const ch = await a.subscribe(name);
  assert.equal(a.authCalls.length, 1);
  assert.equal(a.authCalls[0].channelName, name);
  assert.equal(a.authCalls[0].socketId, a.socketId);
  const ev = a.record(ch);
  await env.sdk.trigger(name, 'secret-ish', { v: 42 });
  assert.deepEqual((await ev.wait((e) => e.event === 'secret-ish', 'event')).data, { v: 42 });
});

test('private channel: a forged signature is refused and the client receives nothing there', async () => {
  const mallory = await env.connect('mallory', {
    // Signed for the right channel but with a wrong secret.
    authorize: (params) => {
      const { PusherSDK } = require('../lib/harness');
      const other = new PusherSDK({ appId: 'app-id', key: 'app-key', secret: 'not-the-secret' });
      return other.authorizeChannel(params.socketId, params.channelName);
    },
  });
  const good = await env.connect('good');
  const name = uniq('private-');
  mallory.pusher.subscribe(name);
  const err = await mallory.frames.wait((f) => f.event === 'pusher:error', 'pusher:error after forged auth');
  assert.ok(err.data && (err.data.code === null || err.data.code === 4009), `error frame: ${JSON.stringify(err)}`);
  assert.equal(mallory.pusher.connection.state, 'connected', 'connection must stay open');

  await good.subscribe(name);
  await env.sdk.trigger(name, 'leak', { no: true });
  await good.frames.wait(onChannel(name, 'leak'), 'leak at good');
  // Barrier on a public channel of mallory's: anything for mallory has arrived.
  const pub = uniq('public-');
  await mallory.subscribe(pub);
  await mallory.barrier(pub);
  assert.equal(mallory.frames.find((f) => f.channel === name && f.event !== 'pusher:error'), undefined);
  const info = await (await env.sdk.get({ path: `/channels/${name}`, params: { info: 'subscription_count' } })).json();
  assert.equal(info.subscription_count, 1, `only the good subscriber is counted: ${JSON.stringify(info)}`);
});

test('presence channel: roster, member_added once per user, member_removed on last connection', async () => {
  const name = uniq('presence-');
  const alice = await env.connect('alice', { user: { id: 'alice', info: { name: 'Alice' } } });
  const chA = await alice.subscribe(name);
  assert.equal(chA.members.count, 1);
  assert.equal(chA.members.me.id, 'alice');
  assert.deepEqual(chA.members.me.info, { name: 'Alice' });
  const evA = alice.record(chA);

  const bob1 = await env.connect('bob1', { user: { id: 'bob', info: { name: 'Bob' } } });
  const chB = await bob1.subscribe(name);
  const added = await evA.wait((e) => e.event === 'pusher:member_added', 'member_added bob');
  assert.deepEqual(added.data, { id: 'bob', info: { name: 'Bob' } });
  assert.equal(chA.members.count, 2);
  assert.equal(chB.members.count, 2);
  assert.deepEqual(chB.members.get('alice'), { id: 'alice', info: { name: 'Alice' } });
  const sub = bob1.frames.find(onChannel(name, 'pusher_internal:subscription_succeeded'));
  assert.deepEqual([...sub.data.presence.ids].sort(), ['alice', 'bob']);
  assert.equal(sub.data.presence.count, 2);

  // A second connection of bob: no second member_added, count stays 2.
  const bob2 = await env.connect('bob2', { user: { id: 'bob', info: { name: 'Bob' } } });
  const chB2 = await bob2.subscribe(name);
  assert.equal(chB2.members.count, 2);
  await alice.barrier(name);
  assert.equal(evA.filter((e) => e.event === 'pusher:member_added').length, 1, 'member_added sent twice for bob');

  // bob1 leaves: bob is still present through bob2, so no member_removed.
  // bob1 also sits on a public tracker channel with alice; the drop of its
  // subscription count to 1 tells alice the server has handled bob1's close.
  const tracker = uniq('tracker-');
  const evT = alice.record(await alice.subscribe(tracker));
  await bob1.subscribe(tracker);
  await evT.wait((e) => e.event === 'pusher:subscription_count' && e.data.subscription_count === 2, 'tracker count 2');
  bob1.disconnect();
  await evT.wait((e) => e.event === 'pusher:subscription_count' && e.data.subscription_count === 1, 'tracker count 1');
  await alice.barrier(name);
  assert.equal(evA.filter((e) => e.event === 'pusher:member_removed').length, 0, 'member_removed while bob2 still present');
  assert.equal(chA.members.count, 2);
  bob2.disconnect();
  const removed = await evA.wait((e) => e.event === 'pusher:member_removed', 'member_removed bob');
  assert.equal(removed.data.id, 'bob');
  assert.equal(chA.members.count, 1);
  assert.equal(evA.filter((e) => e.event === 'pusher:member_removed').length, 1);
});

test('private-encrypted channel: pusher-js decrypts what the SDK encrypted; the server relays ciphertext', async () => {
  const a = await env.connect('a');
  const name = uniq('private-encrypted-');
  const ch = await a.subscribe(name);
  const ev = a.record(ch);
  const payload = { secret: 'attack at dawn', n: [1, 2, 3] };
  await env.sdk.trigger(name, 'sealed', payload);
  const got = await ev.wait((e) => e.event === 'sealed', 'decrypted event');
  assert.deepEqual(got.data, payload);
  // On the wire: {nonce, ciphertext}, never the plaintext.
  const frame = a.frames.find(onChannel(name, 'sealed'));
  assert.ok(frame, 'raw frame recorded');
  assert.deepEqual(Object.keys(frame.data).sort(), ['ciphertext', 'nonce']);
  assert.equal(Buffer.from(frame.data.nonce, 'base64').length, 24);
  assert.ok(!JSON.stringify(frame).includes('attack at dawn'));
});

test('cache channel: last event replayed right after subscription_succeeded; empty channel gives pusher:cache_miss', async () => {
  const name = uniq('cache-');
  // Publish with nobody subscribed: the server keeps it.
  await env.sdk.trigger(name, 'old', { n: 1 });
  await env.sdk.trigger(name, 'latest', { n: 2 });
  const a = await env.connect('a');
  const ch = a.pusher.subscribe(name);
  const ev = a.record(ch);
  const hit = await ev.wait((e) => e.event === 'latest', 'cached event');
  assert.deepEqual(hit.data, { n: 2 });
  const onThis = a.frames.filter(
    (f) => f.channel === name && f.event !== 'pusher_internal:subscription_count',
  );
  assert.deepEqual(
    onThis.map((f) => f.event),
    ['pusher_internal:subscription_succeeded', 'latest'],
    'cached event must come right after subscription_succeeded, and only the last one',
  );
  assert.equal(ev.find((e) => e.event === 'pusher:cache_miss'), undefined);

  const empty = uniq('cache-');
  const chE = a.pusher.subscribe(empty);
  const evE = a.record(chE);
  await evE.wait((e) => e.event === 'pusher:cache_miss', 'pusher:cache_miss');
  const onEmpty = a.frames.filter(
    (f) => f.channel === empty && f.event !== 'pusher_internal:subscription_count',
  );
  assert.deepEqual(onEmpty.map((f) => f.event), ['pusher_internal:subscription_succeeded', 'pusher:cache_miss']);
});

test('private-cache and private-encrypted-cache channels replay the cached event (decrypted by pusher-js)', async () => {
  const priv = uniq('private-cache-');
  const enc = uniq('private-encrypted-cache-');
  await env.sdk.trigger(priv, 'state', { p: 1 });
  await env.sdk.trigger(enc, 'state', { e: 'sealed state' });
  const a = await env.connect('a');
  const evP = a.record(a.pusher.subscribe(priv));
  const evE = a.record(a.pusher.subscribe(enc));
  assert.deepEqual((await evP.wait((e) => e.event === 'state', 'private-cache hit')).data, { p: 1 });
  assert.deepEqual((await evE.wait((e) => e.event === 'state', 'encrypted-cache hit')).data, { e: 'sealed state' });
});

test('presence-cache channel: cache hit after the presence roster', async () => {
  const name = uniq('presence-cache-');
  await env.sdk.trigger(name, 'state', { q: 1 });
  const a = await env.connect('a', { user: { id: 'u-cache' } });
  const ch = a.pusher.subscribe(name);
  const ev = a.record(ch);
  assert.deepEqual((await ev.wait((e) => e.event === 'state', 'presence-cache hit')).data, { q: 1 });
  assert.equal(ch.members.count, 1);
});

test('subscription_count: pusher-js exposes the live count (pusher:subscription_count)', async () => {
  const name = uniq('counted-');
  const a = await env.connect('a');
  const b = await env.connect('b');
  const chA = await a.subscribe(name);
  const evA = a.record(chA);
  await b.subscribe(name);
  const counted = await evA.wait(
    (e) => e.event === 'pusher:subscription_count' && e.data.subscription_count === 2,
    'subscription_count 2',
  );
  assert.equal(counted.data.subscription_count, 2);
  assert.equal(chA.subscriptionCount, 2);
  b.pusher.unsubscribe(name);
  await evA.wait((e) => e.event === 'pusher:subscription_count' && e.data.subscription_count === 1, 'subscription_count 1');
});

test('unsubscribe: no further events reach the unsubscribed client', async () => {
  const name = uniq('public-');
  const keep = uniq('public-');
  const a = await env.connect('a');
  const b = await env.connect('b');
  await a.subscribe(name);
  await a.subscribe(keep);
  await b.subscribe(name);
  a.pusher.unsubscribe(name);
  // Wait until the server counts only b on the channel.
  await waitFor(async () => {
    const r = await (await env.sdk.get({ path: `/channels/${name}`, params: { info: 'subscription_count' } })).json();
    return r.subscription_count === 1;
  }, 'subscription_count back to 1');
  await env.sdk.trigger(name, 'after', {});
  await b.frames.wait(onChannel(name, 'after'), 'after at b');
  await a.barrier(keep);
  assert.equal(a.frames.find(onChannel(name, 'after')), undefined);
});
