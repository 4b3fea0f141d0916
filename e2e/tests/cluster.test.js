// Two people on two different nodes of one cluster (PostgreSQL + NATS): the chat works as on
// one server, in real time, both ways, typing included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestServer } from '../lib/server.js';
import { Cluster } from '../lib/cluster.js';
import { launch, withPages, signUp, say } from '../lib/browser.js';

let cluster;
let nodes = [];
let browser;

before(async () => {
  cluster = await Cluster.start();
  for (let i = 0; i < 2; i += 1) {
    nodes.push(await TestServer.start({ env: cluster.nodeEnv() }));
  }
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const node of nodes) await node.dispose();
  await cluster?.dispose();
});

const log = (page) => page.getByRole('log');
const messageFrom = (page, sender, text) =>
  log(page).locator(`article[data-sender="${sender}"]`).filter({ hasText: text });

test('two users on two nodes chat in real time', async () => {
  const [nodeA, nodeB] = nodes;
  assert.notEqual(nodeA.url, nodeB.url);
  await withPages(browser, 'cluster', 2, async ([alice, bob]) => {
    await signUp(alice, nodeA.url, 'alice');
    await signUp(bob, nodeB.url, 'bob');

    await say(alice, 'Hello from node A');
    await messageFrom(bob, 'alice', 'Hello from node A').waitFor();
    await messageFrom(alice, 'alice', 'Hello from node A').locator('.delivery').waitFor({ state: 'detached' });

    // Bob types on node B (before sending anything: typing right after a send is dropped, a
    // defect of one server as well, issue 17) and alice on node A sees it.
    await bob.getByLabel('Message', { exact: true }).fill('Hi from node B');
    await alice.getByText(/bob is typing/i).waitFor();
    await bob.getByLabel('Message', { exact: true }).press('Enter');
    await messageFrom(alice, 'bob', 'Hi from node B').waitFor();
    assert.equal(await messageFrom(alice, 'bob', 'Hi from node B').count(), 1);
    assert.equal(await messageFrom(bob, 'bob', 'Hi from node B').count(), 1);

  });
});
