"""The detector registry: one module and one registration per code, and the engine's cause
order and suppressions derived from the registrations."""

import pkgutil

import analysis.detectors
from analysis import engine
from analysis.detectors import CAUSE_ORDER, DETECTORS, SUPPRESSES
from analysis.findings import CODES

REGISTERED = [d.code for d in DETECTORS]


def test_every_code_in_the_vocabulary_has_exactly_one_registered_detector():
    assert sorted(REGISTERED) == sorted(CODES)


def test_every_detector_module_is_registered_and_named_after_its_code():
    # Helper modules start with "_"; any other module in the package is a detector.
    modules = {
        m.name for m in pkgutil.iter_modules(analysis.detectors.__path__) if m.name[0] != "_"
    }
    assert modules == set(REGISTERED)
    for d in DETECTORS:
        assert d.detect.__module__ == f"analysis.detectors.{d.code}"


def test_every_registered_code_has_one_place_in_the_cause_order():
    assert sorted(CAUSE_ORDER) == sorted(REGISTERED)
    ranks = [d.cause_rank for d in DETECTORS]
    assert len(set(ranks)) == len(ranks), "two detectors share a cause_rank"


def test_suppressions_name_registered_codes_other_than_their_own():
    for cause, hidden in SUPPRESSES.items():
        assert cause in REGISTERED
        assert hidden, cause
        assert set(hidden) <= set(REGISTERED), (cause, hidden)
        assert cause not in hidden


def test_the_cause_order_is_the_one_reports_are_sorted_by():
    # Changing it reorders every report: a new ENGINE_VERSION.
    assert CAUSE_ORDER == (
        "ranks_disagree",
        "missing_zero_grad",
        "grads_cleared_before_step",
        "not_in_optimizer",
        "no_gradient",
        "exploding_gradients",
        "vanishing_gradients",
        "non_finite",
        "lr_too_high",
        "lr_too_low",
        "dead_relu",
        "saturated_activations",
        "gradient_accumulation",
    )


def test_the_suppressions_are_the_ones_the_engine_applies():
    # Changing them changes which findings are shown: a new ENGINE_VERSION.
    assert SUPPRESSES == {
        "missing_zero_grad": ("lr_too_high", "exploding_gradients"),
        "grads_cleared_before_step": ("lr_too_low", "no_gradient"),
        "vanishing_gradients": ("lr_too_low",),
        "lr_too_high": ("lr_too_low",),
    }


def test_the_engine_sorts_and_suppresses_with_the_derived_tables():
    assert engine.CAUSE_ORDER is CAUSE_ORDER
    assert engine.SUPPRESSES is SUPPRESSES
