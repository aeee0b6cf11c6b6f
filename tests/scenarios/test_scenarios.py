"""Every scenario script, captured and diagnosed through the two command lines, must yield
all of its ``must`` codes and nothing outside ``must`` + ``may`` (labels.yaml)."""

import pytest

from tests.scenarios.run import load_labels, run_all

LABELS = load_labels()


@pytest.fixture(scope="module")
def outcomes(request):
    # The selected scenarios (all, or those `-k NAME` kept) at once, in parallel subprocesses
    # (one per core). Only this test's items: other tests in the session have a `name` too.
    selected = sorted(
        {
            item.callspec.params["name"]
            for item in request.session.items
            if item.originalname == test_scenario_diagnosis_matches_its_labels.__name__
        }
    )
    return {o.name: o for o in run_all(selected or list(LABELS))}


def test_there_are_at_least_thirty_scenarios_with_healthy_and_buggy_ones():
    assert len(LABELS) >= 30
    assert sum(not (v.get("must") or []) for v in LABELS.values()) >= 10
    assert sum(bool(v.get("must")) for v in LABELS.values()) >= 15


@pytest.mark.slow
@pytest.mark.timeout(
    2400
)  # all scenarios run in the first test: ~3 min idle, far more on a busy machine
@pytest.mark.parametrize("name", sorted(LABELS))
def test_scenario_diagnosis_matches_its_labels(name, outcomes):
    o = outcomes[name]
    assert not o.error, o.error
    assert not o.missing, f"{name}: missing {sorted(o.missing)}; got {sorted(o.codes)}"
    assert not o.unexpected, f"{name}: unexpected {sorted(o.unexpected)}; got {sorted(o.codes)}"
