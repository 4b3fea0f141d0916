#!/usr/bin/env python3
"""Writes signaling/src/store/postgres/admin.rs from signaling/src/store/sqlite/admin.rs.

The two stores run the same SQL for administration except for what differs between the
databases' dialects: PostgreSQL numbers its placeholders ($1, $2...) where SQLite takes `?`,
and matches case-insensitively with ILIKE where SQLite's LIKE already does. Run it after
changing the SQLite file; CI checks the two agree (scripts/lint.sh)."""
import re
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
source = (root / "signaling/src/store/sqlite/admin.rs").read_text()


def number(literal: re.Match) -> str:
    text = literal.group(0)
    counter = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", text)


out = re.sub(r'"(?:[^"\\]|\\.)*"', number, source)
out = out.replace(" LIKE ", " ILIKE ")
out = out.replace("SqlitePool", "PgPool").replace("sqlx::sqlite::SqliteRow", "sqlx::postgres::PgRow")
out = out.replace(
    "//! Server administration on SQLite (migration 0021, `crate::admin`). `postgres/admin.rs` is\n"
    "//! made from this file by `scripts/pg-admin.py` (placeholders and `ILIKE` differ, nothing\n"
    "//! else): change this one, then run the script.\n",
    "//! Server administration on PostgreSQL (migration 0011, `crate::admin`). Made from\n"
    "//! `sqlite/admin.rs` by `scripts/pg-admin.py`: do not edit, change that file and run it.\n",
)
# Formatted as `cargo fmt` would (the placeholders change line lengths).
out = subprocess.run(
    ["rustfmt", "--edition", "2024", "--emit", "stdout"],
    input=out, capture_output=True, text=True, check=True, cwd=root,
).stdout
target = root / "signaling/src/store/postgres/admin.rs"
if "--check" in sys.argv:
    if not target.exists() or target.read_text() != out:
        sys.exit("signaling/src/store/postgres/admin.rs is not made from sqlite/admin.rs: run scripts/pg-admin.py")
else:
    target.write_text(out)
