import pytest

from tests.saml.saml_kit import SamlKit


@pytest.fixture
def kit() -> SamlKit:
    return SamlKit()
