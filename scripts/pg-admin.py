#!/usr/bin/env python3
"""Writes signaling/src/store/postgres/{admin,integrations,support}.rs from the files of the same name
in signaling/src/store/sqlite/.

The two stores run the same SQL for administration, bots, webhooks and support except for what differs
between the databases' dialects: PostgreSQL numbers its placeholders ($1, $2...) where SQLite
takes `?`, and matches case-insensitively with ILIKE where SQLite's LIKE already does. Run it
after changing a SQLite file; CI checks the two agree (scripts/test.sh)."""
import re
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def number(literal: re.Match) -> str:
    text = literal.group(0)
    counter = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", text)


HEADERS = {
    "admin.rs": (
        "//! Server administration on SQLite (migration 0021, `crate::admin`). `postgres/admin.rs` is\n"
        "//! made from this file by `scripts/pg-admin.py` (placeholders and `ILIKE` differ, nothing\n"
        "//! else): change this one, then run the script.\n",
        "//! Server administration on PostgreSQL (migration 0011, `crate::admin`). Made from\n"
        "//! `sqlite/admin.rs` by `scripts/pg-admin.py`: do not edit, change that file and run it.\n",
    ),
    "integrations.rs": (
        "//! Bots and outgoing webhooks on SQLite (migration 0022; `crate::bots`, `crate::webhooks`).\n"
        "//! `postgres/integrations.rs` is made from this file by `scripts/pg-admin.py` (placeholders\n"
        "//! differ, nothing else): change this one, then run the script.\n",
        "//! Bots and outgoing webhooks on PostgreSQL (migration 0012; `crate::bots`,\n"
        "//! `crate::webhooks`). Made from `sqlite/integrations.rs` by `scripts/pg-admin.py`: do not\n"
        "//! edit, change that file and run it.\n",
    ),
    "support.rs": (
        "//! The support desk's conversations on SQLite (migration 0023; `crate::support`).\n"
        "//! `postgres/support.rs` is made from this file by `scripts/pg-admin.py` (placeholders differ,\n"
        "//! nothing else): change this one, then run the script.\n",
        "//! The support desk's conversations on PostgreSQL (migration 0013; `crate::support`).\n"
        "//! Made from `sqlite/support.rs` by `scripts/pg-admin.py`: do not edit, change that file\n"
        "//! and run it.\n",
    ),
}

failed = False
for name, (sqlite_head, pg_head) in HEADERS.items():
    source = (root / "signaling/src/store/sqlite" / name).read_text()
    assert source.startswith(sqlite_head), f"the header of sqlite/{name} changed: update this script"
    out = re.sub(r'"(?:[^"\\]|\\.)*"', number, source, flags=re.DOTALL)
    out = out.replace(" LIKE ", " ILIKE ")
    out = out.replace("SqlitePool", "PgPool").replace("sqlx::sqlite::SqliteRow", "sqlx::postgres::PgRow")
    out = out.replace(sqlite_head, pg_head)
    # Formatted as `cargo fmt` would (the placeholders change line lengths).
    out = subprocess.run(
        ["rustfmt", "--edition", "2024", "--emit", "stdout"],
        input=out, capture_output=True, text=True, check=True, cwd=root,
    ).stdout
    target = root / "signaling/src/store/postgres" / name
    if "--check" in sys.argv:
        if not target.exists() or target.read_text() != out:
            print(f"signaling/src/store/postgres/{name} is not made from sqlite/{name}: run scripts/pg-admin.py")
            failed = True
    else:
        target.write_text(out)
sys.exit(1 if failed else 0)
