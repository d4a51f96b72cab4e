"""The plots, checked through the figure objects: scales, series, labels, sizes."""

from __future__ import annotations

import math
from pathlib import Path

from convlab.report.plots import curves_figure, final_figure
from convlab.report.runs import Run
from convlab.report.summary import Group


def _group(pooling: str, values: list[float], metric: str) -> Group:
    runs = [Run(path=Path(f"{pooling}{i}"), status="completed",
                overrides={"model.pooling": pooling, "seed": str(i)}, metrics={metric: v})
            for i, v in enumerate(values)]  # fmt: skip
    return Group(settings={"model.pooling": pooling}, runs=runs)


def test_error_curves_on_a_log_axis_with_a_positive_band():
    # mean 1.0 with a std larger than the mean: mean − std < 0 must not reach the plot
    groups = [_group("max", [0.1, 1.9], "x"), _group("avg", [5.0, 5.2], "x")]
    curves = {"max0": {"val/mae": [(1, 0.1), (2, 0.05)]},
              "max1": {"val/mae": [(1, 1.9), (2, 0.95)]},
              "avg0": {"val/mae": [(1, 5.0), (2, 4.0)]},
              "avg1": {"val/mae": [(1, 5.2), (2, 4.2)]}}  # fmt: skip
    fig = curves_figure(groups, curves, "val/mae")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert fig.get_size_inches()[0] * fig.dpi >= 1000
    assert [line.get_label() for line in ax.get_lines()] == [
        "pooling=max (n=2)",
        "pooling=avg (n=2)",
    ]
    assert list(ax.get_lines()[0].get_ydata()) == [1.0, 0.5]  # the arithmetic mean
    for band in ax.collections:
        ys = [y for path in band.get_paths() for _, y in path.vertices]
        assert min(ys) > 0
    assert "val/mae" in ax.get_ylabel()
    assert ax.title.get_fontsize() >= 12


def test_final_plot_draws_the_confidence_intervals():
    groups = [_group("max", [0.88, 0.89, 0.90], "test/acc"),
              _group("strided", [0.86, 0.87, 0.91], "test/acc")]  # fmt: skip
    fig = final_figure(groups, "test/acc")
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"  # accuracy is not an error
    assert [t.get_text() for t in ax.get_yticklabels()] == ["pooling=max", "pooling=strided"]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "95 % CI of the mean" in labels
    # the CI segment of the first group: 0.89 ± t_0.975,2 · 0.01 / √3
    ci = next(c for c in ax.collections if c.get_label() == "95 % CI of the mean")
    (x0, _), (x1, _) = ci.get_segments()[0]
    half = 0.95 / math.sqrt(2 * 0.975 * 0.025) * 0.01 / math.sqrt(3)
    assert math.isclose(x0, 0.89 - half, rel_tol=1e-6) and math.isclose(x1, 0.89 + half)
    assert final_figure(groups, "test/mae").axes[0].get_xlabel() == "test/mae (log scale)"
