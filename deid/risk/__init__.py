"""Re-identification risk of a release: what its quasi-identifiers still reveal, a k target
reached by generalisation and suppression, and the effect assessment (docs/risk.md).

hierarchies.py  the generalisation hierarchies, a registry keyed by name (the policy checks names there)
quasi.py        quasi-identifiers read from what a run wrote (records tables, DICOM headers)
measures.py     k-anonymity, class sizes, l-diversity, prosecutor/journalist/marketer risk
generalise.py   the search for the least-loss hierarchy levels that reach k
release.py      the whole-release pass a run makes after its workers (rewrite, audit)
assessment.py   the GB/T 42460-structured assessment, zh + en, from the audit log and measures

Kept empty of imports: the policy imports `risk.hierarchies`, which must not pull the rest.
"""
