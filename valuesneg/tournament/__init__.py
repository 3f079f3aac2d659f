"""Tournaments: every competitor against every other, on many scenarios, in every role.

``valuesneg tournament`` (see ``cli``) plans the cells (``setup``), plays them on an executor
(``play``, ``run``), and scores them (``stats``) into scores.csv, leaderboard.json and
report.html (``outputs``). NegMAS's ``cartesian_tournament`` is the model for what it does.
"""
