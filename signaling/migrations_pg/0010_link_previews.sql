-- Link previews fetched by the server (signaling/src/previews), shared by every node: the
-- page's title, description, site name and a small JPEG or PNG of its image. `ok` = 0 keeps a
-- failed fetch for a while so a link is not fetched again on every view.
CREATE TABLE link_previews (
    url         TEXT    PRIMARY KEY,
    ok          BIGINT  NOT NULL,
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    site        TEXT    NOT NULL,
    image       BYTEA,
    fetched_at  BIGINT  NOT NULL
);
CREATE INDEX link_previews_age ON link_previews (fetched_at);
