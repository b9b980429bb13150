from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.saml_e2e.saml_stack import KitIdp, kit_idp


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KitIdp]:
    with kit_idp(tmp_path_factory.mktemp("saml-idp")) as running:
        yield running


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
