'use strict';
// Client events: triggered by one pusher-js client, received by the others,
// never echoed to the sender; presence adds the server-set user_id.

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

test('private channel: client event reaches the other subscriber, not the sender', async () => {
  const name = uniq('private-chat-');
  const a = await env.connect('a');
  const b = await env.connect('b');
  const chA = await a.subscribe(name);
  const chB = await b.subscribe(name);
  const evB = b.record(chB, ['client-typing']);

  assert.equal(chA.trigger('client-typing', { at: 1, text: 'héllo' }), true);
  const got = await evB.wait((e) => e.event === 'client-typing', 'client-typing at b');
  assert.deepEqual(got.data, { at: 1, text: 'héllo' });
  assert.equal(got.metadata.user_id, undefined, 'no user_id on a private channel');
  const frame = b.frames.find((f) => f.event === 'client-typing');
  assert.equal(frame.channel, name);
  assert.equal('user_id' in frame, false);

  await a.barrier(name);
  assert.equal(a.frames.find((f) => f.event === 'client-typing'), undefined, 'client event echoed to its sender');
});

test('presence channel: client event carries the sender user_id; sender not echoed', async () => {
  const name = uniq('presence-chat-');
  const alice = await env.connect('alice', { user: { id: 'alice', info: { name: 'A' } } });
  const bob = await env.connect('bob', { user: { id: 'bob' } });
  const chA = await alice.subscribe(name);
  // Recording starts before bob joins: his member_added may reach alice
  // before his own subscription_succeeded reaches him (no order is defined
  // across connections).
  const evA = alice.record(chA, ['client-move']);
  const chB = await bob.subscribe(name);
  const evB = bob.record(chB, ['client-move']);
  await evA.wait((e) => e.event === 'pusher:member_added', 'member_added bob at alice');

  chA.trigger('client-move', { x: 3, y: 4 });
  const got = await evB.wait((e) => e.event === 'client-move', 'client-move at bob');
  assert.deepEqual(got.data, { x: 3, y: 4 });
  assert.equal(got.metadata.user_id, 'alice');
  const frame = bob.frames.find((f) => f.event === 'client-move');
  assert.equal(frame.user_id, 'alice');

  // And the other way round.
  chB.trigger('client-move', { x: 5 });
  const back = await evA.wait((e) => e.event === 'client-move', 'client-move at alice');
  assert.equal(back.metadata.user_id, 'bob');

  await alice.barrier(name);
  await bob.barrier(name);
  assert.equal(evA.filter((e) => e.event === 'client-move').length, 1);
  assert.equal(evB.filter((e) => e.event === 'client-move').length, 1);
});

test('presence channel: a client-supplied user_id is overwritten by the server', async () => {
  const name = uniq('presence-spoof-');
  const alice = await env.connect('alice', { user: { id: 'alice' } });
  const bob = await env.connect('bob', { user: { id: 'bob' } });
  await alice.subscribe(name);
  const evB = bob.record(await bob.subscribe(name), ['client-spoof']);
  // pusher-js has no API for user_id on a client event; send the raw frame
  // through its own connection (send_event with a channel adds `channel`).
  alice.pusher.connection.send(
    JSON.stringify({ event: 'client-spoof', channel: name, data: { hi: 1 }, user_id: 'bob' }),
  );
  const got = await evB.wait((e) => e.event === 'client-spoof', 'client-spoof at bob');
  assert.equal(got.metadata.user_id, 'alice');
});

test('public channel: client events are refused (error to sender, nothing delivered)', async () => {
  const name = uniq('public-');
  const a = await env.connect('a');
  const b = await env.connect('b');
  const chA = await a.subscribe(name);
  await b.subscribe(name);
  chA.trigger('client-nope', { n: 1 });
  const err = await a.frames.wait((f) => f.event === 'pusher:error', 'pusher:error at sender');
  assert.ok(err.data && 'message' in err.data, JSON.stringify(err));
  assert.equal(a.pusher.connection.state, 'connected');
  await b.barrier(name);
  assert.equal(b.frames.find((f) => f.event === 'client-nope'), undefined, 'client event on a public channel was relayed');
});

test('client event from a non-subscriber is refused', async () => {
  const name = uniq('private-');
  const a = await env.connect('a');
  const b = await env.connect('b');
  await b.subscribe(name);
  // a never subscribed: send the raw frame.
  a.pusher.connection.send(JSON.stringify({ event: 'client-x', channel: name, data: {} }));
  await a.frames.wait((f) => f.event === 'pusher:error', 'pusher:error at non-subscriber');
  await b.barrier(name);
  assert.equal(b.frames.find((f) => f.event === 'client-x'), undefined);
});
