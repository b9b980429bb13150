"""One error hierarchy: every exception the xaa package defines or exports is an XaaError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

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
