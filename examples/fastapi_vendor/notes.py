"""The vendor's existing notes API: notes in SQLite, owned by a local account id.

This file is what the vendor had before XAA; ``auth.py`` adds who may call it.
(No ``from __future__ import annotations`` here: FastAPI reads the route annotations,
and they name the guards passed to :func:`notes_router`.)
"""

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from xaa import AccessTokenClaims
from xaa.resource import CLAIM_IDP_ISSUER

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, text TEXT NOT NULL,
  created_at REAL NOT NULL, via_client TEXT NOT NULL, via_idp TEXT);
"""


class NewNote(BaseModel):
    """The body of ``POST /notes``."""

    text: str = Field(min_length=1, max_length=2000)


class Note(BaseModel):
    """A note as the API returns it."""

    id: int
    text: str
    created_at: float
    via_client: str
    via_idp: str | None


class NotesStore:
    """Notes in one SQLite file (kept across restarts)."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(_SCHEMA)

    def add(self, owner: str, text: str, via_client: str, via_idp: str | None) -> Note:
        """Store a note for ``owner``."""
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO notes (owner, text, created_at, via_client, via_idp)"
                " VALUES (?,?,?,?,?)",
                (owner, text, now, via_client, via_idp),
            )
        return Note(
            id=int(cursor.lastrowid or 0),
            text=text,
            created_at=now,
            via_client=via_client,
            via_idp=via_idp,
        )

    def of(self, owner: str) -> list[Note]:
        """``owner``'s notes, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, text, created_at, via_client, via_idp FROM notes"
                " WHERE owner = ? ORDER BY id",
                (owner,),
            ).fetchall()
        return [
            Note(id=r[0], text=r[1], created_at=r[2], via_client=r[3], via_idp=r[4]) for r in rows
        ]


Guard = Callable[..., AccessTokenClaims]


def notes_router(store: NotesStore, can_read: Guard, can_write: Guard) -> APIRouter:
    """``GET /notes`` and ``POST /notes``; ``can_read``/``can_write`` are FastAPI
    dependencies returning the verified access token claims."""
    router = APIRouter()

    @router.get("/notes")
    def list_notes(token: Annotated[AccessTokenClaims, Depends(can_read)]) -> list[Note]:
        return store.of(token.sub)

    @router.post("/notes", status_code=201)
    def add_note(note: NewNote, token: Annotated[AccessTokenClaims, Depends(can_write)]) -> Note:
        idp = _idp_issuer(token)
        return store.add(token.sub, note.text, via_client=token.client_id, via_idp=idp)

    return router


def _idp_issuer(token: AccessTokenClaims) -> str | None:
    extra: dict[str, Any] = token.model_extra or {}
    value = extra.get(CLAIM_IDP_ISSUER)  # the IdP that vouched for the user
    return value if isinstance(value, str) else None
