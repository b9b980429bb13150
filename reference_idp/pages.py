"""The HTML the reference IdP shows: a login form and an error page (every value escaped)."""

from __future__ import annotations

from html import escape

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}"
    "label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem}"
    "button{margin-top:1rem;padding:.5rem 1.2rem}.error{color:#b00020}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def login_page(*, client_id: str, request_id: str, csrf: str, error: str | None = None) -> str:
    """The login form; ``csrf`` must come back with it (and match the cookie)."""
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page(
        "Sign in",
        f"<h1>Sign in</h1><p>to continue to <b>{escape(client_id)}</b></p>{message}"
        '<form method="post" action="/login">'
        f'<input type="hidden" name="request_id" value="{escape(request_id)}">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'
        '<label for="username">Username</label>'
        '<input id="username" name="username" autocomplete="username" required autofocus>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        '<button type="submit">Sign in</button></form>',
    )


def error_page(message: str) -> str:
    """An error shown to the user when redirecting back to the client would be unsafe."""
    return _page("Error", f'<h1>Request refused</h1><p class="error">{escape(message)}</p>')
