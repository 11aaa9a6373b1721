"""The one output sanitiser and the host-name grammar at the trust boundary."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustermax.hostnames import is_host_address, is_host_name, rejection, shown
from clustermax.sanitize import clean, csv_cell, md, one_line, prom_label, term

HOSTILE = [
    "ev\x1b]0;pwned\x07il",  # OSC: set the window title
    "a\x1b[2J\x1b[Hb",  # clear the screen, cursor home
    "x\x9b31mred",  # 8-bit CSI
    "line1\n# forged heading\nline3",
    "tab\there\rcarriage",
    "bidi \u202eevil\u202c",
    "sep\u2028line",
    "<img src=x onerror=alert(1)>",
    "nul\x00byte\x7fdel",
]


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_prom_label_of_any_text_parses_back_to_the_clean_line(text: str) -> None:
    """Whatever a cluster names itself, it is one label value: no forged sample, label or line."""
    from prometheus_client.parser import text_string_to_metric_families

    exposition = f'# TYPE m gauge\nm{{cluster="{prom_label(text)}",x="y"}} 1\n'
    (family,) = text_string_to_metric_families(exposition)
    (sample,) = family.samples
    assert sample.labels == {"cluster": one_line(clean(text)), "x": "y"}
    assert "\x1b" not in exposition and exposition.count("\n") == 2


@pytest.mark.parametrize("text", HOSTILE)
def test_term_is_one_safe_line(text: str) -> None:
    out = term(text)
    assert out.isprintable() and "\x1b" not in out and "\n" not in out and "\r" not in out
    assert "\u202e" not in out


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_term_and_md_of_any_text(text: str) -> None:
    for out in (term(text), md(text)):
        # no control character, line or paragraph break, or bidi override/isolate survives
        assert not [c for c in out if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
        assert not set(out) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    escaped = md(text)
    assert "<" not in escaped and ">" not in escaped
    # no Markdown structure can start a line or break a table cell
    assert "|" not in escaped.replace("\\|", "")


def test_md_neutralises_headings_links_and_html() -> None:
    assert md("# forged\n[x](javascript:alert(1)) <b>") == (
        "\\# forged \\[x\\]\\(javascript:alert\\(1\\)\\) &lt;b&gt;"
    )
    assert md("test-cluster") == "test-cluster"


def test_clean_keeps_newlines_and_tabs_only() -> None:
    assert clean("a\x1b[31mb\tc\nd\x07") == "ab\tc\nd"
    assert clean("plain") == "plain"


@pytest.mark.parametrize(
    ("cell", "out"), [("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("-12.5", "-12.5"), ("+x", "'+x"), (3, 3)]
)
def test_csv_cells_never_run_as_formulas(cell: object, out: object) -> None:
    assert csv_cell(cell) == out


@pytest.mark.parametrize(
    "name",
    ["node1", "gpu-node-01", "node_7", "a.b.example.com", "10.99.1.13", "x" * 63, "h100-sxm-pod3-rack12"],
)
def test_plain_host_names_pass(name: str) -> None:
    assert is_host_name(name) and is_host_address(name)


@pytest.mark.parametrize(
    "name",
    [
        "node3$(id>/tmp/x)", "node4:x", "node4x:1", "-oProxyCommand=x", "a b", "a\nb", "a/b", "..", "",
        "node`id`", "n;id", "n|id", "n&", "n'x", 'n"x', "n*", "n?", "[n]", "ev\x1b]0;t\x07", "x" * 64,
        "a." * 127 + "a", "nodé", "node-", "-node", "a..b", "%h", "n\\x",
    ],
)  # fmt: skip
def test_anything_else_is_rejected(name: str) -> None:
    assert not is_host_name(name)
    why = rejection(name)
    assert why.isprintable() and "\n" not in why and "\x1b" not in why


def test_addresses_may_be_ip_literals_but_names_may_not_hold_colons() -> None:
    assert is_host_address("fd00::11") and is_host_address("10.0.0.1")
    assert not is_host_name("fd00::11")
    assert not is_host_address("[fd00::11]:22") and not is_host_address("fe80::1%eth0")
    assert "holds ':'" in rejection("node4:x")


def test_shown_escapes_and_cuts() -> None:
    assert shown("a\x1b[2Jb") == "'a\\x1b[2Jb'"
    assert len(shown("x" * 500)) <= 82
