"""The store: all SQL, one module per noun. It records; it does not judge.

``engine`` (connections, migrations, sessions), ``audit`` (the hash chain), ``reference``
(systems, units, pool), ``rounds`` (rounds, panels, vetoes), ``ballots``, ``sources``, ``draws``,
``inbox``, ``outbox``, ``subscriptions``, ``tokens``, ``work`` and ``results``. Rules live in
``jobs/``: a ballot is judged first, then handed here to be saved.
"""
