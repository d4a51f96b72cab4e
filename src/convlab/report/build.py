"""Sweep folder → ``<sweep>/report/results.md`` + PNGs (what ``python -m convlab.report`` does)."""

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convlab.report.curves import Curves, load_curves
from convlab.report.runs import EXTRA_METRICS, RECORD_NAME, REPORT_DIR, Run, load_runs
from convlab.report.statistics import fmt_p, welch
from convlab.report.summary import (
    STATUS_ORDER,
    Group,
    common_settings,
    group_runs,
    metric_names,
    summarize,
)


@dataclass
class Report:
    sweep_dir: Path
    runs: list[Run]
    groups: list[Group]
    rows: list[dict[str, Any]]
    metrics: list[str]
    common: dict[str, str]
    figures: dict[str, Path] = field(default_factory=dict)
    markdown: Path | None = None
    curves: Curves = field(default_factory=dict)  # empty when built with curves=False

    @property
    def problems(self) -> list[str]:
        """``<job>/metrics.json: why``, for each record (or part of one) that could not be read."""
        return [f"{run.path / RECORD_NAME}: {run.problem}" for run in self.runs if run.problem]


def _progress(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"[report] {message}", file=sys.stderr, flush=True)


def read_curves(runs: list[Run], quiet: bool = True) -> Curves:
    """The curves of every run, with a progress line per run on a terminal."""
    curves, tty = {}, not quiet and sys.stderr.isatty()
    for i, run in enumerate(runs, 1):
        curves[run.name] = load_curves(run.path)
        if tty:
            end = "" if i < len(runs) else "\n"
            print(f"\r[report] curves {i}/{len(runs)}", end=end, file=sys.stderr, flush=True)
    return curves


def markdown_table(rows: list[dict[str, Any]], metrics: list[str], keys: list[str]) -> str:
    """Settings, run counts by status, mean ± std per metric, mean steps and seconds per run."""
    statuses = [s for s in STATUS_ORDER if s == "completed" or any(r[s] for r in rows)]
    header = [*keys, "runs", *statuses, *metrics, "steps", "time/run (s)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"`{row[key]}`" if key in row else "–" for key in keys]
        cells += [str(row["runs"]), *(str(row[s]) for s in statuses)]
        cells += [row[m].format() for m in metrics]
        cells += [f"{row[key].mean:{spec}}" if row[key].n else "–"
                  for key, spec in (("steps", ".0f"), ("duration_s", ".1f"))]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def comparison_table(groups: list[Group], metrics: list[str]) -> str:
    """Every group against the first one, per metric: ``group − first``, its 95 % CI, Welch's p."""
    if len(groups) < 2:
        return ""
    first = groups[0]
    lines = [f"Each group against the first (`{first.label}`): difference of means with its 95 % "
             "confidence interval (Welch–Satterthwaite degrees of freedom) and Welch's t-test p "
             "(unequal variances); n counts the completed runs of each group.", "",
             "| group | metric | n | mean − first [95 % CI] | Welch p |",
             "|---|---|---|---|---|"]  # fmt: skip
    for metric in metrics:
        for group in groups[1:]:
            d = welch(group.stat(metric).values, first.stat(metric).values)
            lines.append(f"| {group.label} | {metric} | {d.n_a}/{d.n_b} | {d.format()} "
                         f"| {fmt_p(d.p)} |")  # fmt: skip
    return "\n".join(lines)


def setting_keys(groups: list[Group]) -> list[str]:
    return list(dict.fromkeys(key for group in groups for key in group.settings))


def _write_markdown(report: Report, out_dir: Path) -> Path:
    keys = setting_keys(report.groups)
    counts = {s: sum(run.status == s for run in report.runs) for s in STATUS_ORDER}
    lines = [f"# Sweep report: `{report.sweep_dir.name}`", "",
             f"{len(report.runs)} runs in {len(report.groups)} groups: "
             f"{', '.join(f'{n} {s}' for s, n in counts.items() if n)}.", "",
             "Groups are the runs whose overrides differ only in `seed`. Metrics: mean ± sample "
             "std (n − 1) over the completed runs of a group; diverged, failed and missing runs "
             "are counted in their columns and left out of the means.", ""]  # fmt: skip
    if report.problems:
        lines += ["Records that could not be read (a job without one counts as missing):", "",
                  *(f"- `{problem}`" for problem in report.problems), ""]  # fmt: skip
    if report.common:
        shared = ", ".join(f"`{k}={v}`" for k, v in report.common.items())
        lines += [f"Shared by every run: {shared}.", ""]
    lines += [markdown_table(report.rows, report.metrics, keys), ""]
    compared = [m for m in report.metrics if m.startswith("test/") and not m.endswith("loss")]
    table = comparison_table(report.groups, compared or report.metrics[:1])
    if table:
        lines += [table, ""]
    for name, path in report.figures.items():
        lines += [f"![{name}]({path.relative_to(out_dir).as_posix()})", ""]
    path = out_dir / "results.md"
    path.write_text("\n".join(lines))
    return path


def build_report(sweep_dir: str | Path, metrics: list[str] | None = None,
                 out_dir: str | Path | None = None, curves: bool = True, quiet: bool = False,
                 ) -> Report:  # fmt: skip
    """Read every run of ``sweep_dir``, group, summarise, plot and write ``results.md``."""
    from convlab.report.plots import curves_figure, final_figure, metric_filename

    sweep_dir = Path(sweep_dir)
    runs = load_runs(sweep_dir)
    groups = group_runs(runs)
    metrics = metrics or metric_names(runs)
    _progress(f"{sweep_dir}: {len(runs)} runs in {len(groups)} groups", quiet)
    report = Report(sweep_dir, runs, groups, summarize(groups, metrics), metrics,
                    common_settings(runs))  # fmt: skip
    for problem in report.problems:
        _progress(f"cannot read {problem}", quiet)
    out = Path(out_dir) if out_dir else sweep_dir / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    plotted = [m for m in metrics if m.startswith("test/") or m in EXTRA_METRICS] or metrics
    figures = [(f"final {m}", "final", m, final_figure(groups, m)) for m in plotted]
    if curves and runs:
        by_run = report.curves = read_curves(runs, quiet)
        for tag in sorted({tag for by_tag in by_run.values() for tag in by_tag}):
            figures.append((f"{tag} per epoch", "curve", tag, curves_figure(groups, by_run, tag)))
    for name, kind, metric, figure in figures:
        if figure is not None:
            report.figures[name] = out / f"{kind}_{metric_filename(metric)}.png"
            figure.savefig(report.figures[name])
    report.markdown = _write_markdown(report, out)
    _progress(f"wrote {report.markdown} and {len(report.figures)} figures", quiet)
    return report
