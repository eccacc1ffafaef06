"""How sure a ranking is and how good its ballots are (docs/reliability.md), reported beside the
official result and never replacing it: a bootstrap of ranks, a leniency-adjusted score, the
evaluators' agreement (ICC(2,k)) and ballot-quality flags. Numbers come from numpy alone,
vectorised over the resamples; the official ranking stays exact in ``jobs.scoring``.
"""
