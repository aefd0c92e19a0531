"""Every task carries an explicit, stable name, and every task is queued through the outbox.

Outbox rows store task names; a name Celery derives from the module path changes when the
module moves, and the rows queued under the old name would then resolve to nothing. A task
queued with `.delay()` on commit is lost if the broker is down at that moment. This walks
Celery's registry and the project's source (by AST, not by grep) so neither can come back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from celery import current_app

ROOT = Path(__file__).resolve().parents[2]
# Not the project's code: the virtualenv, generated and runtime folders. Tests may call
# `.delay()` on purpose (a task run in-process); they are scanned for task names only.
NOT_SOURCE = {".venv", "var", "node_modules", "static", ".git", "__pycache__"}
TESTS = "tests"
# The relay is the one place that hands a message to Celery.
RELAY = Path("outbox/services.py")
QUEUE_METHODS = {"delay", "apply_async", "send_task", "apply", "signature", "s", "si"}


def python_files(*, include_tests: bool) -> list[Path]:
    files = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if NOT_SOURCE.intersection(parts):
            continue
        if parts[0] == TESTS and not include_tests:
            continue
        files.append(path)
    return files


def _is_task_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    # `@shared_task(...)` or `@app.task(...)`; a bare `@task` is Inspect's (eval fixtures), not Celery's.
    if isinstance(target, ast.Name):
        return target.id == "shared_task"
    return isinstance(target, ast.Attribute) and target.attr in {"task", "shared_task"}


def declared_tasks(source: str, path: str) -> tuple[dict[str, str], list[str]]:
    """The tasks a module declares ({name: function}) and the declarations without a name."""
    names, problems = {}, []
    for node in ast.walk(ast.parse(source, filename=path)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not _is_task_decorator(decorator):
                continue
            keyword = next(
                (k for k in getattr(decorator, "keywords", []) if k.arg == "name"),
                None,
            )
            if keyword is None or not isinstance(keyword.value, ast.Constant) or not keyword.value.value:
                problems.append(f"{path}:{node.lineno} task {node.name} has no explicit name= (a string)")
            else:
                names[keyword.value.value] = node.name
    return names, problems


def queue_violations(source: str, path: str, *, task_functions: set[str]) -> list[str]:
    """Every place in `source` that queues a task some other way than `outbox.services.enqueue`."""
    problems = []
    for node in ast.walk(ast.parse(source, filename=path)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in QUEUE_METHODS and _queues_a_task(func, task_functions):
            if Path(path) != RELAY:
                problems.append(f"{path}:{node.lineno} queues with .{name}() instead of outbox.services.enqueue")
        elif name == "on_commit":
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                if _mentions_task(argument, task_functions):
                    problems.append(f"{path}:{node.lineno} queues a task in on_commit() instead of enqueue()")
    return problems


def _queues_a_task(func: ast.expr, task_functions: set[str]) -> bool:
    # `.delay`, `.apply_async` and `send_task` are Celery's alone; the short signature and
    # `apply` names are common words, so they count only on something known to be a task.
    if not isinstance(func, ast.Attribute):
        return func.id == "send_task"
    if func.attr in {"delay", "apply_async", "send_task"}:
        return True
    receiver = func.value
    if isinstance(receiver, ast.Subscript):  # app.tasks[name].apply(...)
        receiver = receiver.value
    return (isinstance(receiver, ast.Name) and receiver.id in task_functions) or (
        isinstance(receiver, ast.Attribute) and receiver.attr in task_functions | {"tasks"}
    )


def _mentions_task(node: ast.AST, task_functions: set[str]) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id in task_functions:
            return True
        if isinstance(child, ast.Attribute) and child.attr in task_functions | QUEUE_METHODS - {"s", "si", "apply"}:
            return True
    return False


def _scan() -> tuple[dict[str, str], list[str], list[str]]:
    declared, unnamed = {}, []
    for path in python_files(include_tests=True):
        names, problems = declared_tasks(path.read_text(), str(path.relative_to(ROOT)))
        declared.update(names)
        unnamed += problems
    task_functions = set(declared.values())
    queued = []
    for path in python_files(include_tests=False):
        queued += queue_violations(path.read_text(), str(path.relative_to(ROOT)), task_functions=task_functions)
    return declared, unnamed, queued


@pytest.fixture(scope="module")
def scan():
    return _scan()


@pytest.fixture(scope="module")
def registry():
    current_app.loader.import_default_modules()  # every app's tasks module, as a worker loads them
    import tests.outbox.tasks_for_tests  # noqa: F401 - the fault tests' tasks, registered too

    return {name: task for name, task in current_app.tasks.items() if not name.startswith("celery.")}


def test_every_task_declaration_has_an_explicit_name(scan):
    _, unnamed, _ = scan
    assert unnamed == []


def test_every_registered_task_is_registered_under_its_explicit_name(scan, registry):
    declared, _, _ = scan
    assert registry, "no task registered: the walk found nothing to check"
    # A task registered under a name nobody wrote is one Celery derived from the module path.
    assert sorted(set(registry) - set(declared)) == []
    assert {"sharing.tasks.scan_attachment", "evals.tasks.parse_eval_log", "outbox.relay"} <= set(registry)


def test_tasks_moved_out_of_their_first_module_keep_the_names_queued_rows_use(registry):
    # The names Celery derived before they were written out; outbox rows already hold them.
    for name in (
        "sharing.tasks.scan_attachment",
        "sharing.tasks.rewrap_organisation_deks",
        "evals.tasks.parse_eval_log",
    ):
        assert name in registry


def test_nothing_is_queued_except_through_the_outbox(scan):
    _, _, queued = scan
    assert queued == []


def test_tasks_named_in_enqueue_calls_exist(registry):
    unknown = []
    for path in python_files(include_tests=False):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "enqueue":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and first.value not in registry:
                    unknown.append(f"{path.relative_to(ROOT)}:{node.lineno} {first.value}")
    assert unknown == []


# The walk itself: each way around the outbox, planted, is found.
PLANTED = {
    "delay on commit": "transaction.on_commit(lambda: scan_attachment.delay(code))\n",
    "delay in a helper": "def later(pk):\n    send_release_notice.delay(pk)\n",
    "apply_async": "rewrap_organisation_deks.apply_async(args=[1], countdown=5)\n",
    "send_task": "current_app.send_task('sharing.tidy')\n",
    "a task passed to on_commit": "transaction.on_commit(partial(run_task, scan_attachment, code))\n",
    "a signature": "scan_attachment.s(code).apply_async()\n",
}


@pytest.mark.parametrize("source", PLANTED.values(), ids=PLANTED.keys())
def test_a_planted_way_around_the_outbox_is_found(source):
    functions = {"scan_attachment", "send_release_notice", "rewrap_organisation_deks"}
    assert queue_violations(source, "sharing/planted.py", task_functions=functions)


def test_the_outbox_way_is_not_flagged():
    source = "enqueue(scan_attachment.name, args=[str(code)])\ntransaction.on_commit(lambda: _delete_blob(name))\n"
    assert queue_violations(source, "sharing/planted.py", task_functions={"scan_attachment"}) == []


@pytest.mark.parametrize(
    "source",
    [
        "@shared_task\ndef tidy():\n    pass\n",
        "@shared_task(bind=True, acks_late=True)\ndef tidy(self):\n    pass\n",
        "@app.task(time_limit=5)\ndef tidy():\n    pass\n",
    ],
)
def test_a_planted_task_without_a_name_is_found(source):
    _, problems = declared_tasks(source, "sharing/planted.py")
    assert problems


def test_a_named_task_is_not_flagged():
    names, problems = declared_tasks("@shared_task(name='sharing.tidy')\ndef tidy():\n    pass\n", "x.py")
    assert names == {"sharing.tidy": "tidy"} and problems == []
