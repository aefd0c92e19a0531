"""A finding's Markdown becomes HTML that cannot run code, restyle the page or call out."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.template import Context, Template
from django.utils.safestring import SafeString

from sharing.markdown import render_markdown, sanitise_html


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """The elements a browser would build from `html`, with their attributes."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


def tags_in(html: str) -> set[str]:
    return {tag for tag, _ in elements(html)}


def attributes_in(html: str) -> set[str]:
    return {name for _, attrs in elements(html) for name in attrs}


def test_ordinary_markdown_renders():
    html = render_markdown(
        "## Method\n\nWe used **tools** and `code`.\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert "<h2>Method</h2>" in html
    assert "<strong>tools</strong>" in html
    assert "<code>code</code>" in html
    assert "<li>one</li>" in html
    assert "<td>1</td>" in html
    assert isinstance(html, SafeString)


def test_fenced_code_is_kept_as_text():
    html = render_markdown("```python\nprint('<b>x</b>')\n```")
    assert html == "<pre><code>print('&lt;b&gt;x&lt;/b&gt;')\n</code></pre>"


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "before\n\n<script src='https://evil.example/x.js'></script>\n\nafter",
        "inline <script>alert(1)</script> text",
        "<SCRIPT>alert(1)</SCRIPT>",
        "<scr<script>ipt>alert(1)</script>",
    ],
)
def test_script_tags_are_gone(source):
    html = render_markdown(source)
    assert "script" not in tags_in(html)
    assert "<script" not in html.lower()


@pytest.mark.parametrize(
    "source",
    [
        "<img src=x onerror=alert(1)>",
        '<a href="/x" onclick="alert(1)">x</a>',
        "<div onmouseover='alert(1)'>hover</div>",
        "![pic](/static/p.png){onerror=alert(1)}",
        '[x](/path "title" onclick="alert(1)")',
    ],
)
def test_event_handler_attributes_are_gone(source):
    html = render_markdown(source)
    assert not [name for name in attributes_in(html) if name.startswith("on")], html


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](javascript&#58;alert(1))",
        "[click](  javascript:alert(1))",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<javascript:alert(1)>",
        "[click][ref]\n\n[ref]: javascript:alert(1)",
    ],
)
def test_dangerous_link_schemes_are_gone(source):
    html = render_markdown(source)
    hrefs = [attrs["href"] for tag, attrs in elements(html) if "href" in attrs]
    assert all(h.startswith(("http://", "https://", "mailto:", "/", "#")) for h in hrefs), hrefs


@pytest.mark.parametrize(
    "source",
    [
        "<div class='x'>**raw** block</div>",
        "<iframe src='https://evil.example'></iframe>",
        "<style>body{display:none}</style>",
        "<form action='https://evil.example'><input name=p></form>",
        "<table><tr><td style='position:fixed'>x</td></tr></table>",
        "<!-- hidden -->",
        "<object data='x.swf'></object>",
        "<b>bold via html</b>",
    ],
)
def test_raw_html_never_survives(source):
    html = render_markdown(source)
    assert tags_in(html) <= {"p", "strong"}, html
    assert attributes_in(html) == set(), html


def test_links_get_noopener_noreferrer():
    html = render_markdown("[report](https://example.org/report) and <https://example.org>")
    assert html.count('rel="noopener noreferrer"') == 2
    assert 'href="https://example.org/report"' in html


def test_a_link_cannot_choose_its_own_rel_or_target():
    html = sanitise_html('<a href="https://example.org" rel="opener" target="_blank">x</a>')
    assert html == '<a href="https://example.org" rel="noopener noreferrer">x</a>'


@pytest.mark.parametrize(
    "src",
    [
        "https://evil.example/track.png",
        "http://evil.example/track.png",
        "//evil.example/track.png",
        "/\\evil.example/track.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "relative/track.png",
    ],
)
def test_images_from_other_origins_are_dropped(src):
    html = render_markdown(f"![chart]({src})")
    assert elements(html) == [("p", {}), ("img", {"alt": "chart"})]


def test_images_from_this_site_are_kept():
    assert render_markdown("![chart](/static/img/chart.png)") == '<p><img alt="chart" src="/static/img/chart.png"></p>'


def test_the_cleaner_alone_strips_what_markdown_might_let_through():
    # The second lock on its own, as if the Markdown step had passed raw HTML.
    html = sanitise_html(
        '<p onclick="x">a<script>alert(1)</script><img src="https://evil.example/x" onerror="y">'
        '<a href="javascript:alert(1)">j</a><iframe src="x"></iframe><!-- c --></p>'
    )
    assert html == '<p>a<img><a rel="noopener noreferrer">j</a></p>'


def test_rendered_html_is_not_escaped_again_in_templates():
    out = Template("{{ html }}").render(Context({"html": render_markdown("**x** <b>y</b>")}))
    assert out == "<p><strong>x</strong> &lt;b&gt;y&lt;/b&gt;</p>"


def test_empty_body():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""
