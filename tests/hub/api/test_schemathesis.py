"""Schemathesis over the whole published schema, against a live server: no server errors and
no response that breaks the schema. The README gives the same command for a running site."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[3]
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 5  # per operation, in the fuzzing phase: the run stays near two minutes
# `stateful` needs OpenAPI links, which drf-spectacular does not emit.
PHASES = "examples,coverage,fuzzing"


@pytest.fixture
def seeded(make_user, make_question):
    """Something for every resource to find: a thread with an answer and comment, a term."""
    from hub.forum.services import answer_create, comment_create
    from hub.glossary.models import Term
    from hub.glossary.services import term_save

    me = make_user(username="fuzzer")
    question = make_question(author=me, tags=["lstm"])
    answer = answer_create(author=make_user(), question=question, body="Try gradient clipping.")
    comment_create(author=me, target=answer, body="Thanks, I will try that.")
    term_save(term=Term(slug="gradient", name="Gradient", definition="The derivative."))
    return me


# Three schemathesis processes side by side, each over a part of the schema, rather than one
# with --workers: its worker threads parse lambdas with ast concurrently, which CPython 3.11
# can break ("AST constructor recursion depth mismatch").
PARTS = [
    ["--include-path-regex", "^/api/v1/(questions|answers)"],
    ["--include-path-regex", "^/api/v1/(traces|diagnoses|webhooks|lesson)"],
    ["--exclude-path-regex", "^/api/v1/(questions|answers|traces|diagnoses|webhooks|lesson)"],
]


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    seeded, make_token, live_server, tmp_path
):
    token = make_token(seeded)
    base = [
        # Every check runs (schemathesis 4's default; `--checks all` on the command line would
        # also override the per-operation exceptions in schemathesis.toml).
        str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "run",
        f"{live_server.url}/api/v1/schema/?format=json",
        "--header", f"Authorization: Bearer {token}",
        "--max-examples", str(MAX_EXAMPLES),
        "--phases", PHASES,
        "--workers", "1",
        "--seed", "20261129",
        "--request-timeout", "30",
        "--generation-database", "none",
        "--no-color",
        "--output-truncate", "false",
    ]  # fmt: skip
    runs = []
    for index, part in enumerate(PARTS):
        log = (tmp_path / f"schemathesis-{index}.log").open("w")
        process = subprocess.Popen(
            [*base, *part], cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        runs.append((process, log))
    failures, tested = [], 0
    for process, log in runs:
        process.wait(timeout=600)
        log.close()
        output = Path(log.name).read_text()
        if process.returncode != 0:
            failures.append(output[-15000:])
        found = re.search(r"Tested: (\d+)", output)
        tested += int(found.group(1)) if found else 0
    assert not failures, "\n\n".join(failures)
    schema = requests.get(f"{live_server.url}/api/v1/schema/?format=json", timeout=30).json()
    operations = sum(len(methods) for methods in schema["paths"].values())
    assert tested == operations  # the three parts together cover the whole schema
