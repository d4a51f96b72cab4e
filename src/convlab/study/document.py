"""``RESULTS.md``: per claim the verdict, the table and the plots, with the command and date."""

import shutil
from dataclasses import dataclass, field
from itertools import takewhile
from pathlib import Path

from omegaconf import OmegaConf

from convlab.report import Report
from convlab.report.build import markdown_table, setting_keys
from convlab.report.plots import metric_filename
from convlab.report.statistics import fmt_p
from convlab.study.claims import ESTIMATE_MIN, Claim, Verdict, job_config, sweep_file
from convlab.study.power import POWER, seeds_statement, seeds_to_decide
from convlab.study.rules import Contrast, explain


@dataclass
class Judged:
    number: int
    claim: Claim
    report: Report | None
    verdict: Verdict
    others: dict[str, Report] = field(default_factory=dict)  # of the claim's ``also`` sweeps


def sweep_comment(path: Path) -> str:
    """The leading comment of a sweep config: where it states its settings and why."""
    lines = (line for line in path.read_text().splitlines() if not line.startswith("# @package"))
    return " ".join(line.lstrip("#").strip() for line in takewhile(lambda x: x[:1] == "#", lines))


def composed_settings(report: Report) -> str:
    """Epochs, batch size, optimizer and learning rate as the first job really ran them."""
    cfg = job_config(report)
    if cfg is None:
        return "no job config found"
    optimizer = str(cfg.optimizer._target_).rsplit(".", 1)[-1]
    return (f"`trainer.max_epochs={cfg.trainer.max_epochs}`, `data.batch_size="
            f"{cfg.data.batch_size}`, `{optimizer}(lr={cfg.optimizer.lr})` unless the table's "
            "columns say otherwise")  # fmt: skip


def copy_figures(claim: Claim, report: Report, doc_dir: Path) -> list[tuple[str, str]]:
    """The claim's final-metric plots and the matching validation curves, copied into
    ``<doc_dir>/figures``: (label, link) for each."""
    wanted = []
    for metric in claim.metrics[:1] if claim.plots is None else claim.plots:
        wanted.append((f"final {metric}", f"final_{metric_filename(metric)}.png"))
        if "/" in metric:  # a split's metric has a validation curve; sharpness has none
            val = "val/" + metric.split("/", 1)[1]
            wanted.append((f"{val} per epoch", f"curve_{metric_filename(val)}.png"))
    (doc_dir / "figures").mkdir(parents=True, exist_ok=True)
    links = []
    for label, name in wanted:
        source = (report.markdown.parent if report.markdown else report.sweep_dir) / name
        if source.is_file():
            target = doc_dir / "figures" / f"{claim.sweep}_{name}"
            shutil.copyfile(source, target)
            links.append((label, target.relative_to(doc_dir).as_posix()))
    return links


def claim_table(claim: Claim, report: Report) -> str:
    """The sweep's table with the claim's metrics first (at least two metrics)."""
    metrics = [m for m in (*claim.metrics, *report.metrics) if m in report.metrics]
    metrics = list(dict.fromkeys(metrics))[: max(2, len(claim.metrics))]
    return markdown_table(report.rows, metrics, setting_keys(report.groups))


def contrast_table(contrasts: list[Contrast]) -> str:
    """One row per comparison: n, both means ± std, A − B with its 95 % CI, Welch's p, reading,
    and for one not resolved the seeds per group that would decide it."""
    lines = ["| claim (A vs B) | metric | n (A/B) | A mean ± std | B mean ± std "
             f"| A − B [95 % CI] | Welch p | reading | seeds for {POWER * 100:.0f} % power |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in contrasts:
        d, a, b = c.difference, c.mean_a.format(), c.mean_b.format()
        seeds = seeds_statement(c, short=True) if c.reading.startswith("not resolved") else ""
        lines.append(f"| {c.claim} | {c.metric} | {d.n_a}/{d.n_b} | {a} | {b} | {d.format()} "
                     f"| {fmt_p(d.p)} | {c.reading} | {seeds} |")  # fmt: skip
    return "\n".join(lines)


def seeds_paragraph(claim: Claim, verdict: Verdict) -> list[str]:
    """For a verdict not resolved: the seeds that would decide each open comparison, and the
    minutes the claim's sweeps would take at the largest of them."""
    unresolved = [c for c in verdict.contrasts if c.reading.startswith("not resolved")]
    if not verdict.word.startswith("not resolved") or not unresolved:
        return []
    text = (f"**Seeds to decide it** ({POWER * 100:.0f} % power at the measured difference and "
            "spreads): "
            + "; ".join(f"{c.claim} ({c.metric}): {seeds_statement(c)}" for c in unresolved)
            + ".")  # fmt: skip
    needed = [n for c in unresolved if (n := seeds_to_decide(c))]
    costs = []
    for sweep in (claim.sweep, *claim.also):
        seeds, stacked = sweep_seeds(sweep)
        if needed and seeds and sweep in ESTIMATE_MIN:
            minutes = ESTIMATE_MIN[sweep] * max(needed) / seeds
            costs.append(
                f"`{sweep}` ~{minutes:.0f} min (now {ESTIMATE_MIN[sweep]:g} at {seeds} "
                "seeds" + ("; less: its seeds are stacked" if stacked else "") + ")"
            )
    if costs:
        text += f" At n = {max(needed)} seeds per group, on 2 idle cores: {', '.join(costs)}."
    return ["", text]


def sweep_seeds(sweep: str) -> tuple[int, bool]:
    """How many seeds the sweep config runs per group, and whether they are stacked."""
    path = sweep_file(sweep)
    if not path.is_file():
        return 0, False
    cfg = OmegaConf.load(path)
    members = int(cfg.get("members", 1))
    swept = OmegaConf.select(cfg, "hydra.sweeper.params.seed")
    seeds = len(str(swept).split(",")) if swept is not None else 1
    return seeds * members, members > 1


def receptive_field_section() -> str:
    """LeNet's receptive fields, layer by layer (``python -m convlab.basics.receptive_field``)."""
    from convlab.basics.receptive_field import format_table, receptive_fields
    from convlab.models.lenet import LeNet

    table = format_table(receptive_fields(LeNet().features, 28))
    return "\n".join([
        "## Receptive fields of LeNet", "",
        "What one unit of each layer of LeNet's feature extractor sees of the 28x28 input "
        "(D2L §6.2.6): `jump` is the input distance between neighbouring units, `field` the "
        "side of the square a unit sees, `start` the centre of the first unit's field (input "
        "pixels; negative where padding reaches past the border). Printed by "
        "`python -m convlab.basics.receptive_field` (`convlab.basics.receptive_field`).",
        "", "```text", table, "```", "",
        "So the last pooling layer's units each see a 16x16 window of the 28x28 image, and "
        "max pooling vs a strided convolution (the pooling claims) decides how each 2x2 "
        "window of the layers below is summarised, not how far a unit sees: both have the same "
        "kernel and stride, hence the same receptive fields.", "",
    ])  # fmt: skip


def claim_section(judged: Judged, doc_dir: Path, command: str) -> str:
    claim, report, verdict = judged.claim, judged.report, judged.verdict
    lines = [f"## {judged.number}. {claim.title}", "", f"> Original study: {claim.original}", "",
             f"**Verdict: {verdict.word}.** {verdict.text}", "",
             f"Sweep `{claim.sweep}` (`python train.py -m sweep={claim.sweep}`, run here by "
             f"`{command}`)."]  # fmt: skip
    if sweep_file(claim.sweep).is_file():
        lines.append(f"Its settings: {sweep_comment(sweep_file(claim.sweep))}")
    if report is None:
        return "\n".join([*lines, "", "_This sweep has no report._", ""])
    lines += ["", f"As run: {composed_settings(report)}."]
    if report.common:
        shared = ", ".join(f"`{k}={v}`" for k, v in report.common.items())
        lines.append(f"Shared overrides: {shared}.")
    if verdict.contrasts:
        lines += ["", contrast_table(verdict.contrasts), *seeds_paragraph(claim, verdict)]
    lines += ["", claim_table(claim, report), ""]
    for name, other in judged.others.items():
        lines += [f"Rows read from the `{name}` sweep:", "", claim_table(claim, other), ""]
    for label, link in copy_figures(claim, report, doc_dir):
        lines += [f"![{claim.sweep}: {label}]({link})", ""]
    return "\n".join(lines)


def write_results(path: Path, judged: list[Judged], command: str, header: list[str]) -> Path:
    """``path`` (RESULTS.md), with its figures in a ``figures/`` folder beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Results: the claims of the original study, re-run with seeds", "",
        *(paragraph + "\n" for paragraph in header), "",
        "## How the verdicts are decided", "", *explain(), "",
        "Each table row is a group of runs that differ only in `seed`: mean ± sample std over "
        "the completed runs (n − 1 in the std), and how many runs completed, diverged or failed "
        "— those are counted, never left out silently. Errors (`*/mae`, `*/mse`) are in the "
        "original units of the data whatever the normalisation; `*/loss` is in the units the "
        "net trained in.", "",
        "Sweeps that set `members: 10` (most max(a, b) sweeps: see each section's command) train "
        "seeds 1–10 of each configuration stacked in one process, each member its own run with "
        "the initial weights, batch order and optimizer state of its single run "
        "([members.md](members.md)); the others run one seed per job.", "",
        "| # | claim | verdict |", "|---|---|---|",
        *(f"| {j.number} | {j.claim.title} | {j.verdict.word} |" for j in judged), "",
    ]  # fmt: skip
    for item in judged:
        lines += [claim_section(item, path.parent, command), ""]
    lines.append(receptive_field_section())
    path.write_text("\n".join(lines))
    return path
