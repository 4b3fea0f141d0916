// The support desk as its people use it, with a knowledge base written for the test: a guest
// opens support.html, gives a name, asks two questions the documents answer (answered, with a
// link to the source), then describes a problem a rule sends to a person. Two agents on the
// desk click "Take it" at the same moment: exactly one gets the conversation, the other is
// told; the one who has it sees the history and the summary, replies, sees the customer's next
// message counted as unread, and resolves it. The guest's session reaches nothing but its own
// conversation. The insight page shows the desk's figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { axeProblems } from '../lib/axe.js';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp } from '../lib/browser.js';

const kb = mkdtempSync(join(tmpdir(), 'chat-kb-'));
writeFileSync(join(kb, 'returns.md'), '# Returns\n\n## How to return an item\n\nPrint the return label from your orders page and drop the parcel at a post office within 30 days.\n');
writeFileSync(join(kb, 'shipping.md'), '# Shipping\n\n## Delivery times\n\nOrders ship within 2 days; delivery takes 3 to 5 days in Europe.\n');

const fixture = useServerAndBrowser({
  args: ['--support-kb', kb, '--support-agent', 'ann_desk', '--support-agent', 'bob_desk'],
});

const conversation = (page) => page.getByRole('log', { name: 'Conversation' });

async function ask(page, text) {
  await page.getByRole('textbox', { name: 'Your message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await conversation(page).getByText(text).waitFor();
}

async function axeBothSchemes(page) {
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    assert.deepEqual(await axeProblems(page), [], `${colorScheme} scheme`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

test('a guest is answered from the documents, handed to one agent, and helped', async () => {
  await withPages(fixture.browser, 'support', 3, async ([guest, ann, bob]) => {
    const url = fixture.server.url;
    await signUp(ann, url, 'ann_desk');
    await signUp(bob, url, 'bob_desk');

    // A guest starts from the support link with a name.
    await guest.goto(`${url}/support.html`);
    await guest.getByRole('textbox', { name: 'Your name' }).fill('Dana');
    await axeBothSchemes(guest);
    await guest.getByRole('button', { name: 'Start the conversation' }).click();
    await conversation(guest).getByText("Hi! I'm the assistant").waitFor();

    // Two questions the documents answer, each with its source as a link.
    await ask(guest, 'How do I return an item?');
    await conversation(guest).getByText('Print the return label').waitFor();
    await conversation(guest).getByRole('link', { name: '/kb/returns.md#how-to-return-an-item' }).waitFor();
    await ask(guest, 'How long does delivery take in Europe?');
    await conversation(guest).getByText('3 to 5 days in Europe').waitFor();
    const source = conversation(guest).getByRole('link', { name: '/kb/shipping.md#delivery-times' });
    await source.waitFor();
    const document = await guest.request.get(`${url}${await source.getAttribute('href')}`);
    assert.match(await document.text(), /delivery takes 3 to 5 days/);

    // A problem that a rule sends to a person.
    await ask(guest, 'My blender arrived broken and I want a refund.');
    await conversation(guest).getByText('handing this conversation to a person').waitFor();
    await guest.getByText('Waiting for a person from the team…').waitFor();
    await guest.screenshot({ path: '/tmp/support-guest.png', fullPage: true });
    await axeBothSchemes(guest);

    // Both agents see it waiting, and click at the same moment: exactly one gets it.
    for (const agent of [ann, bob]) {
      await agent.goto(`${url}/desk.html`);
      await agent.getByRole('button', { name: 'Take it: Dana (guest)' }).waitFor();
    }
    await ann.screenshot({ path: '/tmp/support-desk-queue.png', fullPage: true });
    await axeBothSchemes(ann);
    await Promise.all([ann, bob].map((agent) => agent.getByRole('button', { name: 'Take it: Dana (guest)' }).click()));
    const opened = (agent) => agent.getByRole('article', { name: 'Conversation with Dana (guest)' });
    const refused = (agent) => agent.getByRole('alert').filter({ hasText: 'Another agent has taken the conversation with Dana (guest).' });
    const outcome = async (agent) => {
      await Promise.race([opened(agent).waitFor(), refused(agent).waitFor()]);
      return (await opened(agent).count()) > 0 ? 'took' : 'refused';
    };
    const outcomes = [await outcome(ann), await outcome(bob)];
    assert.deepEqual([...outcomes].sort(), ['refused', 'took'], 'exactly one agent has it');
    const [agent, agentName, other] = outcomes[0] === 'took' ? [ann, 'ann_desk', bob] : [bob, 'bob_desk', ann];
    assert.equal(await opened(other).count(), 0);

    // The agent sees the whole history and the summary written when it was handed over.
    const panel = opened(agent);
    const summary = panel.getByRole('region', { name: 'Summary' });
    await summary.getByText('How do I return an item?').waitFor();
    await summary.getByText(/returns\.md/).waitFor();
    await summary.getByText(/refund/).first().waitFor();
    const messages = panel.getByRole('log', { name: 'Messages with Dana (guest)' });
    await messages.getByText('How long does delivery take in Europe?').waitFor();
    await messages.getByText('3 to 5 days in Europe').waitFor();
    await guest.getByText(`${agentName} from the team is with you.`).waitFor();

    // The reply reaches the guest.
    await panel.getByRole('textbox', { name: 'Reply to Dana (guest)' }).fill('Sorry about the blender! A new one is on its way.');
    await panel.getByRole('button', { name: 'Send' }).click();
    await conversation(guest).getByText('Sorry about the blender! A new one is on its way.').waitFor();
    await agent.screenshot({ path: '/tmp/support-desk-conversation.png', fullPage: true });
    await axeBothSchemes(agent);

    // With the conversation closed, the customer's next message is counted as unread.
    await panel.getByRole('button', { name: 'Close the conversation with Dana (guest)' }).click();
    await ask(guest, 'Thank you, that was quick!');
    const mine = agent.getByRole('button', { name: 'Dana (guest), 1 unread' });
    await mine.waitFor();
    await mine.click();
    await opened(agent).getByText('Thank you, that was quick!').waitFor();
    await agent.getByRole('button', { name: 'Dana (guest)', exact: true }).waitFor();

    // The guest's session reaches nothing but its conversation.
    const confined = await guest.evaluate(async () => {
      const status = async (path, method = 'GET') => (await fetch(path, { method })).status;
      const frames = await new Promise((resolve) => {
        const socket = new WebSocket(`ws://${location.host}/ws`);
        const answers = [];
        socket.onmessage = (m) => {
          const frame = JSON.parse(m.data);
          if (frame.type === 'welcome') {
            answers.push(frame.rooms.map((r) => r.id.slice(0, 8)));
            socket.send(JSON.stringify({ type: 'history', room: 'lobby', before: null, limit: 10 }));
            socket.send(JSON.stringify({ type: 'create_room', client_id: 'guest-room', name: 'mine' }));
          } else if (frame.type === 'error') {
            answers.push(frame.code);
            if (answers.length === 3) {
              socket.close();
              resolve(answers);
            }
          }
        };
      });
      return {
        session: await status('/api/session'),
        queue: await status('/api/support/queue'),
        sessions: await status('/api/sessions'),
        open: await status('/api/support/conversations', 'POST'),
        frames,
      };
    });
    assert.deepEqual(confined, {
      session: 403,
      queue: 403,
      sessions: 403,
      open: 403,
      frames: [['support-'], 'no_such_room', 'forbidden'],
    });

    // Resolved: the guest is told.
    await opened(agent).getByRole('button', { name: 'Resolve' }).click();
    await guest.getByText('Resolved. Write again any time').waitFor();
    await opened(agent).waitFor({ state: 'detached' });

    // The insight page counts the desk's conversations (ann runs the server: she signed up first).
    await ann.goto(`${url}/admin.html#insight`);
    const figures = ann.getByRole('group', { name: 'Support desk figures' });
    await figures.getByText('Answered without a person').waitFor();
    assert.match(await figures.textContent(), /1Conversations opened0 %Answered without a person/);
    await ann.getByRole('row', { name: /A topic a person always handles 1/ }).waitFor();
    // Sign-ups count people: not the guest, not the assistant.
    const signups = await ann.evaluate(async () => (await (await fetch('/api/admin/insight')).json()).signups.reduce((n, d) => n + d.users, 0));
    assert.equal(signups, 2, 'ann and bob');
    await ann.screenshot({ path: '/tmp/support-insight.png', fullPage: true });
    await axeBothSchemes(ann);
  });
});

test('the support page without a desk, and the desk for someone not on the team', async () => {
  await withPages(fixture.browser, 'support-refused', 1, async ([carl]) => {
    await signUp(carl, fixture.server.url, 'carl_customer');
    await carl.goto(`${fixture.server.url}/desk.html`);
    await carl.getByText('This page is for the support team.').waitFor();
    // A signed-in customer opens a conversation of their own (no name asked).
    await carl.goto(`${fixture.server.url}/support.html`);
    await carl.getByRole('button', { name: 'Start a conversation' }).click();
    await conversation(carl).getByText("Hi! I'm the assistant").waitFor();
    await carl.getByText('Signed in as carl_customer').waitFor();
    await ask(carl, 'Can I speak to a real person?');
    await carl.getByText('Waiting for a person from the team…').waitFor();
  });
});
