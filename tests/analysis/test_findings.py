import json
import math

import pytest

from analysis.findings import Diagnosis, Evidence, Finding, Fix, Severity


def _finding(**overrides):
    kwargs = dict(
        code="dead_relu",
        severity="warning",
        title="t",
        summary="s",
        evidence=Evidence(
            statistic="x",
            value=float("nan"),
            threshold=0.5,
            comparison=">=",
            details={"layers": [{"share": math.inf}]},
        ),
        fix=Fix(text="do this", code="x = 1"),
        glossary=("dead-relu",),
        confidence=0.8,
    )
    kwargs.update(overrides)
    return Finding(**kwargs)


def test_finding_with_unknown_code_is_refused():
    with pytest.raises(ValueError, match="unknown finding code"):
        _finding(code="bad_vibes")


def test_finding_with_unknown_glossary_slug_is_refused():
    with pytest.raises(ValueError, match="glossary"):
        _finding(glossary=("Dead ReLU",))


def test_finding_confidence_outside_unit_interval_is_refused():
    with pytest.raises(ValueError):
        _finding(confidence=1.5)


def test_diagnosis_json_has_no_nan_and_round_trips():
    d = Diagnosis(engine_version="9", findings=(_finding(),), summary="one", facts={"rows": 3})
    text = d.to_json()
    data = json.loads(text)  # strict JSON: NaN/Inf became null
    assert data["findings"][0]["evidence"]["value"] is None
    assert data["findings"][0]["evidence"]["details"]["layers"][0]["share"] is None
    again = Diagnosis.from_dict(data)
    assert again.findings[0].severity is Severity.WARNING
    assert again.findings[0].fix.code == "x = 1"
    assert again.to_dict() == data


def test_diagnosis_is_healthy_only_without_errors_or_warnings():
    info = _finding(code="gradient_accumulation", severity="info")
    assert Diagnosis("1", (info,), "").healthy
    assert not Diagnosis("1", (info, _finding()), "").healthy
