"""Every URL of the portal is exercised by an anonymous test and by an outsider test.

Mechanical, so a URL added without both fails CI: the URL patterns are walked from the root
URLconf, and the test modules under tests/ are parsed (not imported). A test counts for a URL
when its function name (or its class's name) contains `anonymous` or `outsider`, and a string
in the test — in its body, its decorators (parametrize), or a module-level constant it names —
is the URL's name (`"accounts:login"`, or `f"accounts:{name}"` with the name in a parametrize
list) or a literal path that resolves to it (`"/healthz"`). Helpers the test calls (in its
module, or imported from another module under tests/) are followed.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

TESTS_DIR = Path(__file__).resolve().parent.parent
KINDS = ("anonymous", "outsider")
# Django's admin is its own world (staff only, tested by Django itself).
EXCLUDED_NAMESPACES = {"admin"}


def project_url_names() -> dict[str, str]:
    """Qualified name → route, for every URL pattern outside the excluded namespaces."""
    found: dict[str, str] = {}
    unnamed: list[str] = []

    def walk(patterns, namespace: str, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace in EXCLUDED_NAMESPACES:
                    continue
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, ns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                if entry.name is None:
                    unnamed.append(route)
                else:
                    found[namespace + entry.name] = route

    walk(get_resolver().url_patterns, "", "")
    assert not unnamed, f"every URL pattern needs a name so its coverage can be checked: {unnamed}"
    return found


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


class _Module:
    """What a test module defines at top level: functions, constants, and names it imports
    from other modules under tests/ (helpers such as `download_url`)."""

    def __init__(self, source: str):
        self.tree = ast.parse(source)
        self.defs: dict[str, ast.AST] = {}
        self.imports: dict[str, tuple[str, str]] = {}
        for stmt in self.tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.defs[stmt.name] = stmt
            elif isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        self.defs[target.id] = stmt.value
            elif isinstance(stmt, ast.ImportFrom) and (stmt.module or "").startswith("tests"):
                for alias in stmt.names:
                    self.imports[alias.asname or alias.name] = (stmt.module, alias.name)


def _reachable_strings(module: str, node: ast.AST, modules: dict[str, _Module], seen: set) -> set[str]:
    """Strings in `node` and in every helper or constant it names, followed across modules."""
    strings = _strings(node)
    for name in _names(node):
        target = (module, name)
        if target in seen:
            continue
        seen.add(target)
        here = modules[module]
        if name in here.defs:
            strings |= _reachable_strings(module, here.defs[name], modules, seen)
        elif name in here.imports:
            other, original = here.imports[name]
            if other in modules and original in modules[other].defs:
                seen.add((other, original))
                strings |= _reachable_strings(other, modules[other].defs[original], modules, seen)
    return strings


def _url_names_in(strings: set[str], known: set[str]) -> set[str]:
    names = {s for s in strings if s in known}
    # f"accounts:{name}" with name from a parametrize list: the literal prefix qualifies it.
    prefixes = {s for s in strings if s.endswith(":")}
    names |= {p + s for p in prefixes for s in strings if p + s in known}
    for s in strings:
        if s.startswith("/"):
            try:
                names.add(resolve(s.split("?", 1)[0]).view_name)
            except Resolver404:
                pass
    return names & known


def _test_functions(tree: ast.Module):
    """(owner class name or "", function) for every top-level and class-level function."""
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            yield "", stmt
        elif isinstance(stmt, ast.ClassDef):
            for item in stmt.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield stmt.name, item


def coverage_of(sources: dict[str, str], known: set[str]) -> dict[str, set[str]]:
    """URL name → the kinds (anonymous/outsider) of test that exercise it.

    `sources` maps dotted module names (`tests.sharing.test_x`) to their source text.
    """
    modules = {name: _Module(source) for name, source in sources.items()}
    covered: dict[str, set[str]] = defaultdict(set)
    for module_name, module in modules.items():
        if not module_name.rsplit(".", 1)[-1].startswith("test"):
            continue
        for owner, func in _test_functions(module.tree):
            label = f"{owner} {func.name}".lower()
            kinds = {kind for kind in KINDS if kind in label}
            if not func.name.startswith("test") or not kinds:
                continue
            strings = _reachable_strings(module_name, func, modules, {(module_name, func.name)})
            for url_name in _url_names_in(strings, known):
                covered[url_name] |= kinds
    return covered


def _test_sources() -> dict[str, str]:
    root = TESTS_DIR.parent
    return {".".join(p.relative_to(root).with_suffix("").parts): p.read_text() for p in TESTS_DIR.rglob("*.py")}


def test_every_url_has_an_anonymous_and_an_outsider_test():
    urls = project_url_names()
    covered = coverage_of(_test_sources(), set(urls))
    missing = {
        name: sorted(set(KINDS) - covered.get(name, set()))
        for name in sorted(urls)
        if set(KINDS) - covered.get(name, set())
    }
    report = "\n".join(f"  {name} ({urls[name]}): no {' and no '.join(kinds)} test" for name, kinds in missing.items())
    assert not missing, "URLs without access tests (name a test *anonymous*/*outsider* and reverse the URL):\n" + report


def test_checker_sees_names_paths_parametrize_and_module_constants():
    known = {"home", "healthz", "docs:detail", "docs:list"}
    source = """
VIEWS = ["docs:list"]

def test_anonymous_is_sent_to_login(client):
    client.get(reverse("docs:detail", args=["x"]))
    client.get("/healthz")

@pytest.mark.parametrize("name", VIEWS)
def test_outsider_gets_404(name):
    reverse(name)

class TestOutsider:
    def test_home(self):
        reverse("home")

def test_member_reads(client):
    reverse("docs:detail")
"""
    covered = coverage_of({"tests.test_m": source}, known)
    assert covered["docs:detail"] == {"anonymous"}
    assert covered["healthz"] == {"anonymous"}
    assert covered["docs:list"] == {"outsider"}
    assert covered["home"] == {"outsider"}


def test_checker_follows_helpers_across_modules_and_namespace_prefixes():
    known = {"sharing:download", "accounts:org_member", "accounts:org_members"}
    support = 'def download_url(a):\n    return reverse("sharing:download", kwargs={"code": a.code})\n'
    source = """
from tests.support import download_url

VIEWS = [("org_members", "get"), ("org_member", "post")]

def _url(name):
    return reverse(f"accounts:{name}")

def test_anonymous_download(client):
    client.get(download_url(x))

@pytest.mark.parametrize(("name", "method"), VIEWS)
def test_outsider_gets_404(client, name, method):
    client.get(_url(name))
"""
    covered = coverage_of({"tests.support": support, "tests.test_m": source}, known)
    assert covered["sharing:download"] == {"anonymous"}
    assert covered["accounts:org_member"] == {"outsider"}
    assert covered["accounts:org_members"] == {"outsider"}


def test_checker_fails_for_a_url_without_tests():
    covered = coverage_of({"tests.test_m": "def test_anonymous_x():\n    reverse('home')\n"}, {"home", "new:view"})
    assert "new:view" not in covered
    assert covered["home"] == {"anonymous"}
