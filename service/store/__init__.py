"""The store: all SQL, one module per noun. It records; it does not judge.

``engine`` (connections, migrations, sessions), ``audit`` (the hash chain), ``reference``
(systems, units, the pool), ``rounds`` (rounds, seats, vetoes), ``ballots``, ``draws``,
``results`` (ranking snapshots, circular versions), ``status`` (the counts staff see),
``sources``, ``inbox``, ``outbox``, ``subscriptions``, ``tokens`` and ``work``. It refuses what
it cannot record (an unknown round, a second veto of a unit); the rules that judge a ballot are
in ``jobs/``, which judges first and then hands the ballot and its verdict here to be saved.
"""
