-- The support desk (signaling/src/support/): one row per support conversation, a room of its
-- own. The row is the conversation's state for every node; each change of state is also a
-- room event, so every client sees it.
CREATE TABLE support_conversations (
    room_id         TEXT    PRIMARY KEY REFERENCES rooms(id),
    customer_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- assistant, waiting (for a person), agent, resolved
    state           TEXT    NOT NULL DEFAULT 'assistant',
    agent_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    -- Why it went to a person (support::rules::Reason), and the summary written then.
    reason          TEXT    NOT NULL DEFAULT '',
    summary         TEXT    NOT NULL DEFAULT '',
    -- Answers in a row the assistant was not sure of.
    unsure_in_a_row INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    escalated_at    INTEGER,
    claimed_at      INTEGER,
    first_reply_at  INTEGER,
    resolved_at     INTEGER
);
CREATE INDEX support_by_state ON support_conversations (state, escalated_at);
CREATE INDEX support_by_agent ON support_conversations (agent_id, state);
