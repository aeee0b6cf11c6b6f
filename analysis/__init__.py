"""The diagnosis engine: detectors over a gradient trace (no Django).

import traces, analysis
diagnosis = analysis.diagnose(traces.load("run.trace"))
print(analysis.report.render_text(diagnosis))
"""

from analysis.engine import ENGINE_VERSION, diagnose
from analysis.findings import CODES, GLOSSARY_SLUGS, Diagnosis, Evidence, Finding, Fix, Severity

__all__ = [
    "CODES",
    "ENGINE_VERSION",
    "GLOSSARY_SLUGS",
    "Diagnosis",
    "Evidence",
    "Finding",
    "Fix",
    "Severity",
    "diagnose",
]
