"""One line naming the extra to install when an adapter's third-party library is missing.

An adapter is imported by module (docs/architecture.md, "The public surface"); without
its extra the import fails with :class:`xaa.adapters.MissingExtra`, e.g.
``xaa.adapters.starlette needs the server extra (no module named 'starlette'): pip install
'xaa[server]'``, not with a bare ``ModuleNotFoundError`` from deep inside the adapter.
The extras are declared in ``pyproject.toml``; docs/install.md lists them.
"""

from __future__ import annotations

from . import MissingExtra


def needs_extra(subject: str, extras: str, missing: str | None) -> str:
    """``"<subject> needs the <extras> extra (no module named 'x'): pip install 'xaa[<extras>]'"``.

    ``extras`` is what goes between the brackets (``"server"``, ``"client,broker"``).
    """
    word = "extras" if "," in extras else "extra"
    top = (missing or "?").partition(".")[0]  # the package, not the submodule that failed
    return (
        f"{subject} needs the {extras} {word} (no module named {top!r}): "
        f"pip install 'xaa[{extras}]'"
    )


def missing_extra(module: str, extras: str, cause: ModuleNotFoundError) -> ModuleNotFoundError:
    """The error to raise (``from None``) when importing ``module`` hit ``cause``.

    An error already naming its extra (an adapter importing another) and a missing module of
    xaa itself (a defect, not an extra) pass through unchanged.
    """
    if isinstance(cause, MissingExtra) or (cause.name or "xaa").split(".")[0] == "xaa":
        return cause
    return MissingExtra(needs_extra(module, extras, cause.name), name=cause.name)
