"""What the admin console reads and writes beyond :class:`reference_idp.store.Store`.

Two tables of its own: the decoded claims of each issued ID-JAG (by ``jti``; the
token itself is never stored) and the admin changes (who changed what, before
and after). Queries over the audit log take an :class:`ActivityFilter`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields
from typing import Any

from xaa import AuditEvent, IdJagClaims
from xaa.idp import TokenExchangeEndpoint

from .store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS id_jag_claims (
  jti TEXT PRIMARY KEY, time REAL NOT NULL, claims TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS admin_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, admin TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, before TEXT, after TEXT);
"""
PAGE_SIZE = 50
EXPORT_LIMIT = 10_000
CLAIMS_KEPT_SECONDS = 30 * 86400


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """Validated filters of the activity page (empty string: no filter)."""

    subject: str = ""
    client: str = ""
    actor: str = ""
    audience: str = ""
    decision: str = ""
    reason: str = ""
    event: str = ""
    jti: str = ""
    since: float | None = None
    until: float | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The SQL ``WHERE`` clause and its arguments."""
        clauses: list[str] = []
        args: list[Any] = []
        if self.client:  # an invalid_client refusal (a suspended client) by its claimed id too
            clauses.append(
                "(json_extract(document, '$.client_id') = ? OR (json_extract(document,"
                " '$.client_id') IS NULL AND json_extract(document,"
                " '$.extra.attempted_client_id') = ?))"
            )
            args += [self.client, self.client]
        for name, path in (
            ("subject", "$.subject"),
            ("audience", "$.audience"),
            ("jti", "$.jti"),
        ):
            value = getattr(self, name)
            if value:
                clauses.append(f"json_extract(document, '{path}') = ?")
                args.append(value)
        if self.decision:
            clauses.append("decision = ?")
            args.append(self.decision)
        if self.reason:
            clauses.append("reason = ?")
            args.append(self.reason)
        if self.event:
            clauses.append("(event = ? OR event LIKE ? ESCAPE '\\')")
            args += [self.event, _like(self.event) + ".%"]
        if self.actor:
            clauses.append(
                "EXISTS (SELECT 1 FROM json_each(document, '$.actors') "
                "WHERE value LIKE ? ESCAPE '\\')"
            )
            args.append("%" + _like(self.actor) + "%")
        if self.since is not None:
            clauses.append("time >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("time < ?")
            args.append(self.until)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def query(self) -> dict[str, str]:
        """The filters as query parameters (non-empty ones)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value != "":
                out[f.name] = str(value) if not isinstance(value, float) else _iso(value)
        return out


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _iso(value: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(value))


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One audit row with its id."""

    id: int
    event: AuditEvent


class ConsoleStore:
    """The console's queries on the IdP database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.tx() as db:
            for statement in SCHEMA.strip().split(";"):
                if statement.strip():
                    db.execute(statement)

    # -- ID-JAG claims ------------------------------------------------------------------

    def record_claims(self, jti: str, claims: dict[str, Any], now: float) -> None:
        """Keep the decoded claims of an issued ID-JAG (never the token)."""
        with self.store.tx() as db:
            db.execute("DELETE FROM id_jag_claims WHERE time < ?", (now - CLAIMS_KEPT_SECONDS,))
            db.execute(
                "INSERT OR REPLACE INTO id_jag_claims (jti, time, claims) VALUES (?,?,?)",
                (jti, now, json.dumps(claims, sort_keys=True)),
            )

    def claims(self, jti: str) -> dict[str, Any] | None:
        """The decoded claims of the ID-JAG ``jti``, if kept."""
        rows = self.store.rows("SELECT claims FROM id_jag_claims WHERE jti = ?", (jti,))
        return json.loads(rows[0][0]) if rows else None

    # -- admin changes ------------------------------------------------------------------

    def record_change(
        self, admin: str, action: str, target: str, before: Any, after: Any, now: float
    ) -> int:
        """One admin change; returns its id (the audit row names it)."""
        with self.store.tx() as db:
            cursor = db.execute(
                "INSERT INTO admin_changes (time, admin, action, target, before, after) "
                "VALUES (?,?,?,?,?,?)",
                (now, admin, action, target, _json(before), _json(after)),
            )
            return int(cursor.lastrowid or 0)

    def change(self, change_id: int) -> dict[str, Any] | None:
        """One admin change with decoded ``before``/``after``."""
        rows = self.store.rows("SELECT * FROM admin_changes WHERE id = ?", (change_id,))
        if not rows:
            return None
        row = dict(rows[0])
        for key in ("before", "after"):
            row[key] = json.loads(row[key]) if row[key] is not None else None
        return row

    # -- activity -----------------------------------------------------------------------

    def activity(self, where: ActivityFilter, page: int = 1) -> tuple[list[ActivityRow], bool]:
        """One page of matching audit rows, newest first, and whether more follow."""
        clause, args = where.where()
        rows = self.store.rows(
            f"SELECT id, document FROM audit{clause} ORDER BY id DESC LIMIT ? OFFSET ?",  # noqa: S608
            (*args, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE),
        )
        found = [ActivityRow(r[0], AuditEvent.model_validate_json(r[1])) for r in rows]
        return found[:PAGE_SIZE], len(found) > PAGE_SIZE

    def export(self, where: ActivityFilter) -> list[ActivityRow]:
        """Every matching row (at most :data:`EXPORT_LIMIT`), newest first."""
        clause, args = where.where()
        rows = self.store.rows(
            f"SELECT id, document FROM audit{clause} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*args, EXPORT_LIMIT),
        )
        return [ActivityRow(r[0], AuditEvent.model_validate_json(r[1])) for r in rows]

    def row(self, row_id: int) -> ActivityRow | None:
        """One audit row."""
        rows = self.store.rows("SELECT id, document FROM audit WHERE id = ?", (row_id,))
        return ActivityRow(rows[0][0], AuditEvent.model_validate_json(rows[0][1])) if rows else None

    def last_use(self) -> dict[str, float]:
        """When each client was last granted something."""
        rows = self.store.rows(
            "SELECT json_extract(document, '$.client_id'), MAX(time) FROM audit "
            "WHERE decision = 'issued' GROUP BY 1"
        )
        return {r[0]: r[1] for r in rows if r[0]}

    # -- users --------------------------------------------------------------------------

    def users(self, now: float) -> list[dict[str, Any]]:
        """Every user with groups, status and live refresh tokens and sessions."""
        tokens: dict[str, int] = dict(
            (r[0], r[1])
            for r in self.store.rows(
                "SELECT sub, COUNT(*) FROM refresh_tokens WHERE revoked_at IS NULL "
                "AND expires_at > ? GROUP BY sub",
                (now,),
            )
        )
        sessions: dict[str, int] = dict(
            (r[0], r[1])
            for r in self.store.rows(
                "SELECT sub, COUNT(*) FROM sessions WHERE expires_at > ? GROUP BY sub", (now,)
            )
        )
        return [
            {
                "username": r["username"],
                "email": r["email"] or "",
                "groups": json.loads(r["groups"]),
                "status": r["status"],
                "refresh_tokens": tokens.get(r["username"], 0),
                "sessions": sessions.get(r["username"], 0),
            }
            for r in self.store.rows("SELECT * FROM users ORDER BY username")
        ]

    def sign_out_everywhere(self, username: str, now: float) -> tuple[int, int]:
        """Revoke every refresh token of ``username`` and end its sessions; the counts."""
        with self.store.tx() as db:
            tokens = db.execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE sub = ? AND revoked_at IS NULL",
                (now, username),
            ).rowcount
            sessions = db.execute("DELETE FROM sessions WHERE sub = ?", (username,)).rowcount
        return tokens, sessions

    # -- keys ---------------------------------------------------------------------------

    def key_rows(self) -> list[dict[str, Any]]:
        """Every signing key: kid, state, published and retired times."""
        rows = self.store.rows(
            "SELECT kid, state, created_at, retired_at FROM keys ORDER BY created_at, rowid"
        )
        return [dict(r) for r in rows]


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def end_session(store: Store, session_id: str) -> None:
    """Delete one browser session (admin sign-out)."""
    from .store import token_hash

    with store.tx() as db:
        db.execute("DELETE FROM sessions WHERE id_hash = ?", (token_hash(session_id),))


def recording(
    base: type[TokenExchangeEndpoint], console: ConsoleStore
) -> type[TokenExchangeEndpoint]:
    """``base`` keeping the decoded claims of every ID-JAG it issues (never the token)."""

    def issue(self: TokenExchangeEndpoint, claims: IdJagClaims) -> str:
        token = base.issue(self, claims)
        console.record_claims(claims.jti, claims.to_json(), self.clock())
        return token

    made: type[TokenExchangeEndpoint] = type(f"Recording{base.__name__}", (base,), {"issue": issue})
    return made
