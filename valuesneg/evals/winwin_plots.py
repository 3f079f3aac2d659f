"""The winwin report's figures: how efficient the deals were, ours beside the humans'."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .base import Plot, svg

BARS = ("agreement_rate", "joint_efficiency_agreed", "joint_efficiency_all",
        "pareto_optimal_rate")


def plots(ours: Sequence[float], human: Sequence[float], our_summary: Mapping[str, object],
          human_summary: Mapping[str, object] | None) -> list[Plot]:
    """The winwin report's figures."""
    return [efficiency_histogram(ours, human), comparison(our_summary, human_summary)]


def efficiency_histogram(ours: Sequence[float], human: Sequence[float]) -> Plot:
    """Joint efficiency of our deals against the people's."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.2))
    bins = [0.5 + 0.025 * i for i in range(21)]
    clipped = [[max(0.5, x) for x in values] for values in (ours, human)]
    axes.hist(clipped[0], bins=bins, alpha=0.7, label=f"ours ({len(ours)} deals)")
    if human:
        axes.hist(clipped[1], bins=bins, alpha=0.5, label=f"humans ({len(human)} deals)")
    axes.set_xlabel("joint utility / best joint utility (values below 0.5 in the first bin)")
    axes.set_ylabel("deals")
    axes.legend()
    return Plot(title="Joint efficiency of agreed deals", svg=svg(figure),
                caption="Each agreed deal's joint utility over the best joint utility of its "
                        "scenario; the humans' are the deals recorded in the corpus.")


def comparison(ours: Mapping[str, object], human: Mapping[str, object] | None) -> Plot:
    """The headline metrics of our deals beside the people's."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.2))
    xs = range(len(BARS))
    width = 0.38 if human else 0.6
    axes.bar([x - (width / 2 if human else 0) for x in xs], [_value(ours, k) for k in BARS],
             width, label="ours")
    if human:
        axes.bar([x + width / 2 for x in xs], [_value(human, k) for k in BARS], width,
                 label="humans (recorded)")
    axes.set_xticks(list(xs), [k.replace("_", " ") for k in BARS], fontsize=7)
    axes.set_ylim(0, 1.05)
    axes.legend(loc="lower right")
    return Plot(title="Ours and the recorded humans", svg=svg(figure),
                caption="Rates and efficiencies over the same scenarios.")


def _value(summary: Mapping[str, object], key: str) -> float:
    value = summary.get(key)
    return float(value) if isinstance(value, int | float) else 0.0
