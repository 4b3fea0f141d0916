-- The support desk (signaling/src/support/): one row per support conversation, a room of its
-- own. The row is the conversation's state for every node; each change of state is also a
-- room event, so every client sees it.
CREATE TABLE support_conversations (
    room_id         TEXT    PRIMARY KEY REFERENCES rooms(id),
    customer_id     BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- assistant, waiting (for a person), agent, resolved
    state           TEXT    NOT NULL DEFAULT 'assistant',
    agent_id        BIGINT  REFERENCES users(id) ON DELETE SET NULL,
    -- Why it went to a person (support::rules::Reason), and the summary written then.
    reason          TEXT    NOT NULL DEFAULT '',
    summary         TEXT    NOT NULL DEFAULT '',
    -- Answers in a row the assistant was not sure of.
    unsure_in_a_row BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    escalated_at    BIGINT,
    claimed_at      BIGINT,
    first_reply_at  BIGINT,
    resolved_at     BIGINT
);
CREATE INDEX support_by_state ON support_conversations (state, escalated_at);
CREATE INDEX support_by_agent ON support_conversations (agent_id, state);
