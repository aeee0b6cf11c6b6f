"""Verified fixes: replay the user's model from the program in the trace and try the candidate
fixes of each finding (``python -m analysis replay run.trace``).

- ``program``: the loader (allowlisted ops only, caps, one-line ``ProgramError``);
- ``ops``: the allowlist; ``execute``: the forward interpreter and the synthetic batches;
- ``train``: N steps with the recorded optimizer, written as a ``Trace`` the engine judges;
- ``fixes``: candidate fixes per finding; ``loops``: loop bugs verified from recorded events;
- ``verify``: reproduce, replay each fix, verdicts, ranking; ``report``: text and Markdown.

Needs torch (imported lazily); reading a trace and diagnosing it do not.
"""
