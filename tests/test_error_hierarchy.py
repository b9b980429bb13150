"""One error hierarchy: every exception the xaa package defines or exports is an XaaError."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
import re
import socket
from typing import Any

import pytest

import xaa
from tests.support.django_setup import configure_django
from xaa import ConfigurationError, MalformedEncoding, ProtocolViolation, XaaError, rules
from xaa._jose import b64url_decode
from xaa.client import ResponseTooLarge


def _modules() -> list[str]:
    configure_django()  # xaa.adapters.django needs configured settings to import
    names = ["xaa"]
    for info in pkgutil.walk_packages(xaa.__path__, "xaa."):
        if not info.name.endswith("__main__"):  # importing it would run the command
            names.append(info.name)
    return names


def test_every_exception_class_in_xaa_derives_from_xaa_error() -> None:
    strays = []
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if not (inspect.isclass(value) and issubclass(value, BaseException)):
                continue
            if value.__module__.startswith("xaa") and not issubclass(value, XaaError):
                strays.append(f"{name}.{attr}")
    assert strays == []


def test_every_exception_exported_by_a_facade_derives_from_xaa_error() -> None:
    for name in _modules():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            value = getattr(module, attr)
            if inspect.isclass(value) and issubclass(value, BaseException):
                assert issubclass(value, XaaError), f"{name}.{attr}"


def test_response_too_large_is_still_a_protocol_violation() -> None:
    assert issubclass(ResponseTooLarge, ProtocolViolation)


def test_b64url_decode_raises_a_public_error() -> None:
    with pytest.raises(MalformedEncoding):
        b64url_decode("a")
    with pytest.raises(ValueError):  # callers catching ValueError keep working
        b64url_decode("a")


def test_rule_identifiers_are_kebab_case_and_unique() -> None:
    values = [v for k, v in vars(rules).items() if k.isupper()]
    assert values and len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", v) for v in values)


_NOT_CORE = ("xaa.adapters", "xaa.cli", "xaa.conformance")
# The raises outside the core that may stay what they are, each with its reason; any other
# raise of a class that is no XaaError outside the core fails the scan below.
_ALLOWED = {
    "xaa.adapters._redis_resp:_parse raises ConnectionError": "caught by _Protocol.data_received,"
    " which fails the connection; the Redis store answers ReplayStoreUnavailable",
    "xaa.conformance._registry:Suite.add raises ValueError": "a case id that is malformed or"
    " registered twice is a bug in the suite itself, never user input",
    "xaa.cli._broker:_serve raises SystemExit": "the command's one-line exit with status text",
    "xaa.cli._broker:_target raises SystemExit": "the command's one-line exit with status text",
    "xaa.cli._broker:_set_secret raises SystemExit": "the command's one-line exit with status text",
}


def _in_package(name: str, packages: tuple[str, ...]) -> bool:
    """``xaa.cli`` holds ``xaa.cli._broker`` but not ``xaa.client``."""
    return any(name == p or name.startswith(p + ".") for p in packages)


def _escaping_raises(module: Any) -> list[str]:
    """``raise Name(...)`` of a class that is no XaaError, outside a pydantic validator (which
    turns it into its ValidationError) and outside a ``try`` of the same function catching it."""
    source = inspect.getsource(module)
    tree = ast.parse(source)
    parents: dict[ast.AST, ast.AST] = {
        child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)
    }
    strays = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        name = node.exc.func
        cls = _resolve(name.id, module) if isinstance(name, ast.Name) else None
        if not (inspect.isclass(cls) and issubclass(cls, BaseException)):
            continue
        if issubclass(cls, XaaError) or _handled(node, cls, module, parents):
            continue
        strays.append(f"{module.__name__}:{_function(node, parents)} raises {cls.__name__}")
    return strays


def _function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    """The qualified name of the function around ``node`` (``Class.method``)."""
    names = []
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
    return ".".join(reversed(names)) or "<module>"


def _resolve(name: str, module: Any) -> object:
    return getattr(module, name, getattr(builtins, name, None))


def _handled(
    node: ast.AST, cls: type[BaseException], module: Any, parents: dict[ast.AST, ast.AST]
) -> bool:
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
            return any("validator" in ast.unparse(d) for d in parent.decorator_list)
        if isinstance(parent, ast.Try) and node in parent.body:
            for handler in parent.handlers:
                caught = (
                    eval(ast.unparse(handler.type), vars(builtins) | vars(module))
                    if handler.type
                    else None
                )
                if caught is None or issubclass(cls, caught):
                    return True
        node = parent
    return False


def test_the_core_raises_only_xaa_errors() -> None:
    strays = []
    for name in _modules():
        if not _in_package(name, _NOT_CORE):
            strays += _escaping_raises(importlib.import_module(name))
    assert strays == []


def test_adapters_conformance_and_cli_raise_only_xaa_errors() -> None:
    strays = []
    for name in _modules():
        if _in_package(name, _NOT_CORE):
            strays += _escaping_raises(importlib.import_module(name))
    assert sorted(set(strays) - set(_ALLOWED)) == []
    assert sorted(set(_ALLOWED) - set(strays)) == []  # no stale entry


def test_the_core_scan_covers_xaa_client() -> None:
    core = [name for name in _modules() if not _in_package(name, _NOT_CORE)]
    assert "xaa.client._auth" in core and "xaa.cli._broker" not in core


def test_a_django_resource_server_setting_of_the_wrong_type_is_a_configuration_error() -> None:
    configure_django()
    from xaa.adapters.django import _server

    with pytest.raises(ConfigurationError, match="XAA_RESOURCE_SERVER"):
        _server(lambda: 42)  # type: ignore[arg-type, return-value]


# uvicorn's server thread ends with SystemExit(1) when it cannot bind; that is its own report.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_busy_port_is_a_configuration_error() -> None:
    from xaa.adapters.serving import serve_in_thread

    async def app(scope: Any, receive: Any, send: Any) -> None:  # only the lifespan
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with (
            pytest.raises(ConfigurationError, match="could not serve"),
            serve_in_thread(app, port=port),
        ):
            pass


def test_a_redis_url_of_another_scheme_is_a_configuration_error() -> None:
    from xaa.adapters._redis_resp import RespPipe

    with pytest.raises(ConfigurationError, match="redis://"):
        RespPipe("rediss://127.0.0.1:6379/0", timeout=1.0)


def test_unusable_conformance_options_are_configuration_errors() -> None:
    from xaa import spec
    from xaa.conformance._credentials import ClientCredentials
    from xaa.conformance._idp.context import IdpTarget
    from xaa.conformance._serving import host_port

    with pytest.raises(ConfigurationError, match="needs the client secret"):
        ClientCredentials("c", spec.AUTH_CLIENT_SECRET_BASIC)
    client = ClientCredentials("c", secret="s")
    with pytest.raises(ConfigurationError, match="exactly one"):
        IdpTarget("https://idp.example", client, "https://as.example")
    with pytest.raises(ConfigurationError, match="plain http"):
        host_port("https://127.0.0.1:9401")
