"""One error hierarchy: every exception the xaa package defines or exports is an XaaError."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
import re
from typing import Any

import pytest

import xaa
from tests.support.django_setup import configure_django
from xaa import MalformedEncoding, ProtocolViolation, XaaError, rules
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
# Broker modules that still raise a bare ValueError for a misconfigured app or revocation
# target (to become ConfigurationError there); listed by name so that no other module may.
_NOT_YET = ("xaa.broker._killswitch", "xaa.broker._strategy")


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
        strays.append(f"{module.__name__}:{node.lineno} raises {cls.__name__}")
    return strays


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
        if not name.startswith(_NOT_CORE) and name not in _NOT_YET:
            strays += _escaping_raises(importlib.import_module(name))
    assert strays == []
