"""``xaa idp config --template`` and ``--check FILE``: FILE:LINE errors, exit 2; OK, exit 0."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel, ValidationError

from reference_idp.config import IdpConfig, load_config
from reference_idp.config_check import check_text, key_lines, template_text
from xaa.cli import main
from xaa.idp import IssuancePolicy

DEMO = Path(__file__).resolve().parents[2] / "reference_idp" / "demo.toml"
RAW_TEMPLATE = template_text()
# The template with its CHANGE ME values replaced, as a deployer starts from it.
TEMPLATE = RAW_TEMPLATE.replace('"CHANGE ME: a long random secret"', '"a-random-secret"')
TEMPLATE = TEMPLATE.replace('"CHANGE ME"', '"a-password"')


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["idp", "config", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[int, str]:
    path = tmp_path / "idp.toml"
    path.write_text(text)
    code, out, err = run(capsys, "--check", str(path))
    assert code == 2 and out == ""
    return code, err.replace(str(path), "FILE")


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_template_prints_a_commented_file_that_loads(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--template")
    assert code == 0 and err == "" and out == RAW_TEMPLATE
    assert out.count("\n#") > 20
    config = IdpConfig.model_validate(tomllib.loads(out))
    assert config.policy.grants[0].client_id == "wiki-at-chat"


def test_template_fails_check_until_its_change_me_values_are_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The template passed --check, and served, with the password and the client secret
    'CHANGE ME' that it tells the deployer to replace (docs/idp-config.md shows the lines)."""
    _, err = check(tmp_path, capsys, RAW_TEMPLATE)
    page = (DEMO.parents[1] / "docs" / "idp-config.md").read_text()
    block = page.split("until you replace", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    assert err.replace("FILE", "idp.toml") == block
    assert err.count("\n") == 2 and "CHANGE ME" in err


def test_template_passes_check_with_one_ok_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "idp.toml"
    path.write_text(TEMPLATE)  # its CHANGE ME values replaced
    code, out, err = run(capsys, "--check", str(path))
    assert (code, err) == (0, "")
    assert out == (f"{path}: OK (issuer https://idp.example, 1 users, 1 clients, 1 grants)\n")


def models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """``model`` and every model its fields hold (lists and optionals included)."""
    yield model
    for field in model.model_fields.values():
        for kind in (field.annotation, *get_args(field.annotation)):
            for inner in (kind, *get_args(kind)):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    yield from models(inner)


def test_template_shows_every_key_of_the_configuration() -> None:
    commented = "\n".join(line.lstrip("# ") for line in TEMPLATE.splitlines())
    for model in models(IdpConfig):
        for name in set(model.model_fields) - {"demo"}:
            shown = rf"(^|[\[.]){name}( =|\]|\.)"
            assert re.search(shown, commented, re.M), f"{model.__name__}.{name}"


def test_demo_configuration_passes_check(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--check", str(DEMO))
    assert code == 0 and out.startswith(f"{DEMO}: OK (issuer http://127.0.0.1:9400")


def test_toml_syntax_error_carries_the_line_from_tomllib(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, err = check(tmp_path, capsys, 'issuer = "https://idp.example"\n\n[[users]]\nusername = \n')
    assert err == "FILE:4: TOML syntax: Invalid value\n"


def test_unknown_key_names_its_path_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TEMPLATE.replace('on_excess = "narrow"', 'on_excess = "narrow"\nscope = "chat.read"')
    _, err = check(tmp_path, capsys, text)
    line = line_of(text, 'scope = "chat.read"')
    assert err == f"FILE:{line}: policy.grants[0].scope: unknown key (a typo?)\n"


def test_wrong_value_names_its_path_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TEMPLATE.replace("id_jag_lifetime = 300 ", "id_jag_lifetime = -5  ")
    _, err = check(tmp_path, capsys, text)
    line = line_of(text, "id_jag_lifetime = -5")
    assert err.startswith(f"FILE:{line}: id_jag_lifetime: Input should be greater than 0")


def test_missing_key_points_at_its_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = '[[clients]]\nclient_id = "a"\nowner = "o"\nauth_method = "client_secret_basic"\n'
    text += 'secret = "s"\n\n[[clients]]\nclient_id = "b"\nauth_method = "client_secret_post"\n'
    text += 'secret = "s"\n'
    _, err = check(tmp_path, capsys, text)
    assert err == "FILE:7: clients[1].owner: required key is missing\n"


def test_policy_error_names_the_offending_grant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TEMPLATE.replace(
        'audience = "https://chat.example"   # a', 'audience = "https://nope.example"   # a'
    )
    _, err = check(tmp_path, capsys, text)
    line = line_of(text, "[[policy.grants]]")
    assert err == (
        f"FILE:{line}: policy.grants[0] (client 'wiki'): audience 'https://nope.example' "
        "is no resource_servers issuer\n"
    )


def test_policy_error_names_the_resource_a_grant_may_not_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TEMPLATE.replace(
        '# resources = ["https://chat.example/api"]', 'resources = ["https://chat.example/x"]'
    )
    _, err = check(tmp_path, capsys, text)
    line = line_of(text, "[[policy.grants]]")
    assert err == (
        f"FILE:{line}: policy.grants[0] (client 'wiki'): resource 'https://chat.example/x' "
        "is not governed by 'https://chat.example'\n"
    )


def test_audience_name_used_twice_names_the_resource_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = '[[policy.resource_servers]]\nissuer = "a"\naliases = ["b"]\n\n'
    text += '[[policy.resource_servers]]\nissuer = "b"\n'
    _, err = check(tmp_path, capsys, text)
    assert err == (
        "FILE:5: policy.resource_servers[1]: audience name 'b' (issuer or alias) is used twice\n"
    )


def test_grant_for_a_client_that_is_not_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TEMPLATE.replace('client = "wiki"  ', 'client = "wikki" ')
    _, err = check(tmp_path, capsys, text)
    line = line_of(text, 'client = "wikki"')
    assert err == f"FILE:{line}: policy.grants[0].client: 'wikki' is no [[clients]] client_id\n"


def test_every_problem_of_a_pass_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = '[[users]]\nusername = "alice"\npassword = "p"\n\n# Confidential clients'
    text = TEMPLATE.replace('client = "wiki"  ', 'client = "wikki" ').replace(
        "# Confidential clients", second, 1
    )
    _, err = check(tmp_path, capsys, text)
    assert [e.split(": ")[1] for e in err.splitlines()] == [
        "users[1].username",
        "policy.grants[0].client",
    ]


def test_unreadable_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--check", str(tmp_path / "missing.toml"))
    assert (code, out) == (2, "")
    assert err == f"{tmp_path / 'missing.toml'}: cannot read: No such file or directory\n"


def test_config_needs_template_or_check(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["idp", "config"])
    assert exited.value.code == 2
    capsys.readouterr()


def test_key_lines_follow_nested_arrays_of_tables_and_multiline_values() -> None:
    text = (
        "a = 1  # comment with [brackets]\n"
        '[[g]]\nname = "x"\nlist = [\n  "one",\n  "two # not a comment",\n]\n'
        "[[g.s]]\nv = 1\n[[g.s]]\nv = 2\n"
        "[[g]]\n[[g.s]]\nv = 3\n"
        "[t]\nk = { x = 1 }\n"
    )
    lines = key_lines(text)
    assert lines[("a",)] == 1
    assert lines[("g", 0)] == 2 and lines[("g", 0, "list")] == 4
    assert lines[("g", 0, "s", 1, "v")] == 11
    assert lines[("g", 1, "s", 0, "v")] == 14
    assert lines[("t", "k")] == 16
    assert ("g", 0, "s", 2) not in lines


def test_check_text_is_empty_exactly_when_the_idp_would_load_it() -> None:
    assert check_text(DEMO.read_text()) == []
    assert load_config(DEMO).issuer == "http://127.0.0.1:9400"
    bad = DEMO.read_text().replace("id_jag_max_lifetime = 300", "id_jag_max_lifetime = 0")
    assert check_text(bad)
    with pytest.raises(ValidationError):
        IdpConfig.model_validate(tomllib.loads(bad))


def test_issuance_policy_errors_name_the_offending_grant_and_resource() -> None:
    servers = [{"issuer": "https://as.example", "resources": ["https://as.example/api"]}]
    grant = {"client": "wiki", "audience": "https://as.example", "client_id": "w"}
    cases = {
        "grants[1] (client 'wiki'): a second grant at 'https://as.example'": [grant, grant],
        "grants[0] (client 'wiki'): resource 'https://other.example' is not governed by "
        "'https://as.example'": [{**grant, "resources": ["https://other.example"]}],
    }
    for message, grants in cases.items():
        with pytest.raises(ValidationError) as raised:
            IssuancePolicy.model_validate({"resource_servers": servers, "grants": grants})
        assert message in str(raised.value)


def test_docs_page_documents_every_key() -> None:
    page = (DEMO.parents[1] / "docs" / "idp-config.md").read_text()
    for model in models(IdpConfig):
        for name in set(model.model_fields):
            assert f"`{name}`" in page or f"{name}]" in page, f"{model.__name__}.{name}"


# The mistakes behind docs/idp-config.md's "Some answers" block, in its order.
DOCUMENTED_MISTAKES = (
    ("id_token_lifetime = 3600 ", "id_token_lifetime = 3600s "),
    ("redirect_uris = ", "redirect_uri = "),
    ('on_excess = "narrow"', 'on_excess = "narow"'),
    ('audience = "https://chat.example"', 'audience = "https://nope.example"'),
    ('client = "wiki" ', 'client = "wikki" '),
    ("id_jag_lifetime = 300 ", "id_jag_lifetime = 900 "),
)


def test_check_answers_shown_in_the_docs_are_what_check_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (DEMO.parents[1] / "docs" / "idp-config.md").read_text()
    block = page.split("Some answers", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    printed = []
    for old, new in DOCUMENTED_MISTAKES:
        assert TEMPLATE.count(old) == 1, old
        _, err = check(tmp_path, capsys, TEMPLATE.replace(old, new))
        printed.append(err.replace("FILE", "idp.toml"))
    assert "".join(printed) == block


def test_check_refuses_an_id_jag_lifetime_the_idp_refuses_to_start_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reference_idp.app import create_app
    from reference_idp.store import Store
    from xaa import ConfigurationError

    text = TEMPLATE.replace("id_jag_lifetime = 300 ", "id_jag_lifetime = 900 ")
    _, err = check(tmp_path, capsys, text)
    line = line_of(text, "id_jag_lifetime = 900")
    longer = "900 s is longer than id_jag_max_lifetime (300 s)"
    assert err == f"FILE:{line}: id_jag_lifetime: {longer}\n"
    with pytest.raises(ConfigurationError):
        create_app(IdpConfig.model_validate(tomllib.loads(text)), Store(":memory:"))


def test_template_points_at_pages_that_exist() -> None:
    pages = re.findall(r"docs/[\w-]+\.md", TEMPLATE)
    assert "docs/idp-config.md" in pages
    assert all((DEMO.parents[1] / page).is_file() for page in pages)
    assert '("The configuration file")' not in TEMPLATE  # a heading docs/idp.md no longer has
