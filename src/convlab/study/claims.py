"""The claims of the original study, each judged from the report of the sweep that tests it.

A claim's ``judge`` gets the sweep's ``Report`` (and its curves) and returns a verdict word and
a paragraph built only from the numbers, with the rules of ``convlab.study.rules``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from convlab.report import Report
from convlab.report.curves import Curve
from convlab.report.summary import Group, Stat
from convlab.study.rules import (
    EASY_ACC,
    LEARNS_MAE,
    all_completed,
    best,
    compare,
    describe,
    find,
    fmt,
    learns,
    trains_easily,
)

Curves = dict[str, dict[str, Curve]]


@dataclass
class Verdict:
    word: str  # holds | does not hold | partly holds | depends on ... | reproduced | inconclusive
    text: str


@dataclass(frozen=True)
class Claim:
    key: str
    title: str
    original: str
    sweep: str
    metrics: tuple[str, ...]
    judge: Callable[[Report, Curves], Verdict]
    # metrics whose final-value plot and validation curve go into RESULTS.md (default: the first)
    plots: tuple[str, ...] = ()

    @property
    def plotted(self) -> tuple[str, ...]:
        return self.plots or self.metrics[:1]


def _missing(report: Report, *names: str) -> Verdict:
    return Verdict("inconclusive", f"The sweep has no runs for {', '.join(names)}.")


def _first_epoch(curve: Curve, threshold: float, lower_is_better: bool) -> float:
    for epoch, value in curve:
        if (value <= threshold) if lower_is_better else (value >= threshold):
            return float(epoch)
    return float("nan")


def epochs_to(group: Group, curves: Curves, tag: str, threshold: float, lower: bool) -> Stat:
    """Epochs until ``tag`` first reaches ``threshold``, per completed run (NaN: never)."""
    values = [_first_epoch(curves.get(run.name, {}).get(tag, []), threshold, lower)
              for run in group.completed]  # fmt: skip
    return Stat.of(values)


def _job_config(report: Report):
    for run in report.runs:
        path = run.path / ".hydra" / "config.yaml"
        if path.is_file():
            return OmegaConf.load(path)
    return None


# --- the claims ---------------------------------------------------------------------------
def judge_setup(report: Report, curves: Curves) -> Verdict:
    cfg = _job_config(report)
    if cfg is None:
        return _missing(report, "any job")
    data = cfg.data
    same = (data.n_train, float(data.low), float(data.high)) == (1000, 0.0, 20000.0)
    text = (
        f"The runs trained on `data.n_train={data.n_train}` pairs uniform in "
        f"({fmt(float(data.low))}, {fmt(float(data.high))}), validated on {data.n_val} and "
        f"tested on {data.n_test} pairs, each split drawn from its own fixed seed "
        f"({data.train_seed}, {data.val_seed}, {data.test_seed}), so every run of every sweep "
        "is scored on the same test pairs whatever its training seed."
    )
    return Verdict("reproduced" if same else "differs", text)


def judge_normalization(report: Report, curves: Curves) -> Verdict:
    groups = {
        name: find(report.groups, normalization=name) for name in ("none", "unit", "standard")
    }
    if any(g is None for g in groups.values()):
        return _missing(report, "data.normalization=none|unit|standard")
    none, unit, standard = groups["none"], groups["unit"], groups["standard"]
    metric = "test/mae"
    normalised = best([unit, standard], metric, lower_is_better=True) or unit
    helps = compare(normalised.stat(metric), none.stat(metric), lower_is_better=True)
    if not all_completed(none) and all_completed(normalised):
        helps = "better"
    positive = compare(unit.stat(metric), standard.stat(metric), lower_is_better=True)
    parts = [
        f"Without normalisation: {describe(none, metric)}; unit (inputs in [0, 1], all "
        f"positive): {describe(unit, metric)}; standard (zero mean, half the inputs negative): "
        f"{describe(standard, metric)}."
    ]
    if helps == "better":
        parts.append(f"Normalising helps: {normalised.label} beats no normalisation.")
    elif helps == "worse":
        parts.append("Normalising hurts here: no normalisation has the lower error.")
    else:
        parts.append("Normalised and raw inputs show no clear difference.")
    if positive == "better":
        parts.append("All-positive inputs (unit) beat zero-mean inputs (standard), as claimed.")
    elif positive == "worse":
        parts.append("Zero-mean inputs (standard) beat all-positive ones (unit): the ReLU net "
                     "does not need positive inputs, it needs a sensible scale.")  # fmt: skip
    else:
        parts.append("Unit and standard show no clear difference, so positive inputs are not "
                     "what matters: the scale is.")  # fmt: skip
    if helps == "better" and positive == "better":
        word = "holds"
    elif helps == "better":
        word = "partly holds (normalising helps; positive inputs are not needed)"
    elif positive == "better":
        word = "partly holds (positive inputs help; normalising as such does not)"
    else:
        word = "does not hold"
    return Verdict(word, " ".join(parts))


def judge_tasks(report: Report, curves: Curves) -> Verdict:
    clf = find(report.groups, experiment="max_classification")
    reg = find(report.groups, experiment="max_regression")
    if clf is None or reg is None:
        return _missing(report, "experiment=max_classification|max_regression")
    clf_easy, reg_learns = trains_easily(clf), learns(reg)
    clf_epochs = epochs_to(clf, curves, "val/acc", EASY_ACC, lower=False)
    reg_epochs = epochs_to(reg, curves, "val/mae", LEARNS_MAE, lower=True)
    parts = [
        f"Classifier: {describe(clf, 'test/acc')}, first reaching val/acc ≥ {EASY_ACC} after "
        f"{clf_epochs.format(3)} epochs ({clf_epochs.n} of {len(clf.completed)} runs reach it). "
        f"Regressor: {describe(reg, 'test/mae')}, first reaching val/mae ≤ {fmt(LEARNS_MAE)} after "
        f"{reg_epochs.format(3)} epochs ({reg_epochs.n} of {len(reg.completed)} runs reach it)."
    ]
    if not clf_easy:
        return Verdict("does not hold", " ".join([*parts, "The classifier did not train easily."]))
    if not reg_learns:
        parts.append("The classifier trains easily and the regressor does not reach the "
                     "threshold in the same budget.")  # fmt: skip
        return Verdict("holds", " ".join(parts))
    slower = compare(reg_epochs, clf_epochs, lower_is_better=True) == "worse"
    if slower:
        parts.append("Both get there, the regressor clearly later.")
        return Verdict("holds (regression is slower)", " ".join(parts))
    parts.append("Both train within the budget, the regressor no clearly later than the "
                 "classifier: at these settings regression is not harder.")  # fmt: skip
    return Verdict("does not hold", " ".join(parts))


def judge_gated(report: Report, curves: Curves) -> Verdict:
    lr_groups = sorted(
        (g for g in report.groups if "optimizer.lr" in g.settings),
        key=lambda g: float(g.settings["optimizer.lr"]),
    )
    if not lr_groups:
        return _missing(report, "optimizer.lr")
    learned = [g for g in lr_groups if learns(g)]
    parts = [f"lr {g.settings['optimizer.lr']}: {describe(g, 'test/mae')}, "
             f"test/mse {g.stat('test/mse').format()}" for g in lr_groups]  # fmt: skip
    text = "; ".join(parts) + "."
    tiny = [g for g in lr_groups if float(g.settings["optimizer.lr"]) <= 1e-7]
    if learned and all(g in tiny for g in learned):
        word = "holds"
        text += " Only the tiny learning rates learn the max."
    elif learned:
        names = ", ".join(g.settings["optimizer.lr"] for g in learned)
        word = "does not hold"
        text += f" The gated net learns at lr {names}, not only around 1e-8."
    else:
        word = "does not hold"
        text += " No learning rate lets the gated net learn the max in this budget."
    if learned:
        top = best(learned, "test/mse", lower_is_better=True)
        mse = top.stat("test/mse")
        near = 5 / 3 <= mse.mean <= 5 * 3
        text += (
            f" Its best final test/mse is {mse.format()} (original units); the original's "
            f"'loss near 5' {'matches' if near else 'does not match'} within a factor of 3 "
            "(the original's loss units are not stated)."
        )
    return Verdict(word, text)


def judge_capacity(report: Report, curves: Curves) -> Verdict:
    sized = [
        g for g in report.groups if "model.width" in g.settings and "model.depth" in g.settings
    ]
    if not sized:
        return _missing(report, "model.width × model.depth")

    def size(g: Group) -> tuple[int, int]:
        return int(g.settings["model.width"]), int(g.settings["model.depth"])

    small, large = min(sized, key=size), max(sized, key=size)
    top = best(sized, "test/mae", lower_is_better=True)
    cmp = compare(large.stat("test/mae"), small.stat("test/mae"), lower_is_better=True)
    loss = large.stat("test/loss")
    parts = [
        f"Smallest ({small.label}): {describe(small, 'test/mae')}; largest ({large.label}): "
        f"{describe(large, 'test/mae')}, test/loss {loss.format()} (MSE in normalised units); "
        f"best: {top.label if top else '–'}."
    ]
    reaches = loss.n > 0 and loss.mean <= 0.05
    parts.append(
        f"The largest net's loss is {'at or below' if reaches else 'above'} 0.05 "
        "(the original's loss units are not stated; this is the MSE of standardised targets)."
    )
    if cmp == "better":
        word = "holds" if reaches else "partly holds (bigger is better, loss above 0.05)"
        parts.append("Wider and deeper is clearly better than the smallest net.")
    else:
        word = "does not hold"
        parts.append(f"Wider and deeper is {cmp} compared with the smallest net.")
    return Verdict(word, " ".join(parts))


def _best_setting(groups: list[Group], metric: str = "test/mae") -> Group | None:
    """Among groups that differ in a tuning knob (the lr), the one with the lowest mean error
    of those whose runs all completed; else the one with the most completed runs."""
    finished = [g for g in groups if all_completed(g)]
    if finished:
        return best(finished, metric, lower_is_better=True)
    return max(groups, key=lambda g: len(g.completed)) if groups else None


def _at_lr(group: Group) -> str:
    lr = group.settings.get("optimizer.lr")
    return f" (at its better lr, {lr})" if lr else ""


def _matching(groups: list[Group], **settings: str) -> list[Group]:
    return [g for g in groups if find([g], **settings) is g]


def judge_optimizers(report: Report, curves: Curves) -> Verdict:
    norms = sorted({g.settings.get("data.normalization", "-") for g in report.groups})
    per_norm, parts = {}, []
    for norm in norms:
        where = {} if norm == "-" else {"normalization": norm}
        sgd = _best_setting(_matching(report.groups, optimizer="sgd", **where))
        adam = _best_setting(_matching(report.groups, optimizer="adam", **where))
        if sgd is None or adam is None:
            return _missing(report, f"optimizer=sgd|adam at normalization={norm}")
        per_norm[norm] = (learns(sgd), learns(adam))
        parts.append(
            f"normalization={norm}: SGD{_at_lr(sgd)} {describe(sgd, 'test/mae')}; "
            f"Adam{_at_lr(adam)} {describe(adam, 'test/mae')}"
        )
    text = "; ".join(parts) + "."
    outcomes = set(per_norm.values())
    if outcomes == {(False, True)}:
        return Verdict("holds", text + " Only Adam learns the max, with or without normalising.")
    if len(outcomes) > 1:
        word = {True: "learns", False: "fails"}
        detail = ", ".join(f"{n}: SGD {word[s]}, Adam {word[a]}" for n, (s, a) in per_norm.items())
        return Verdict("depends on the normalisation", f"{text} ({detail}).")
    sgd_ok, adam_ok = outcomes.pop()
    if sgd_ok and adam_ok:
        return Verdict("does not hold", text + " Both optimizers learn the max.")
    if sgd_ok:
        return Verdict("does not hold", text + " SGD learns the max and Adam does not.")
    return Verdict("does not hold", text + " Neither optimizer learns the max in this budget.")


def judge_batch_size(report: Report, curves: Curves) -> Verdict:
    optimizers = sorted({g.settings.get("optimizer", "-") for g in report.groups})
    sizes = sorted({int(g.settings["data.batch_size"]) for g in report.groups
                    if "data.batch_size" in g.settings})  # fmt: skip
    if 1 not in sizes or len(sizes) < 2:
        return _missing(report, "data.batch_size=1 and a larger one")
    parts, outcome = [], {}
    for opt in optimizers:
        where = {} if opt == "-" else {"optimizer": opt}
        learned = []
        for size in sizes:
            group = find(report.groups, batch_size=size, **where)
            if group is None:
                continue
            steps = Stat.of([float(r.record.get("steps") or "nan") for r in group.completed])
            after = f" after {steps.mean:.0f} steps" if steps.n else ""
            parts.append(f"{opt}, batch {size}: {describe(group, 'test/mae')}{after}")
            if learns(group):
                learned.append(size)
        if learned == [1]:
            outcome[opt] = "only batch size 1 learns"
        elif not learned:
            outcome[opt] = "no batch size learns"
        else:
            outcome[opt] = f"batch sizes {', '.join(map(str, learned))} learn"
    text = "; ".join(parts) + ". " + "; ".join(f"{o}: {v}" for o, v in outcome.items()) + "."
    results = set(outcome.values())
    if results == {"only batch size 1 learns"}:
        return Verdict("holds at equal epochs", text + " At equal epochs batch size 1 makes the "
                       "most updates; larger batches make proportionally fewer.")  # fmt: skip
    if "only batch size 1 learns" in results and all(
        r in ("only batch size 1 learns", "no batch size learns") for r in results
    ):
        return Verdict("holds where anything learns", text)
    if "only batch size 1 learns" in results:
        return Verdict("depends on the optimizer", text)
    return Verdict("does not hold", text)


def judge_pooling(report: Report, curves: Curves) -> Verdict:
    strided, maxpool = find(report.groups, pooling="strided"), find(report.groups, pooling="max")
    if strided is None or maxpool is None:
        return _missing(report, "model.pooling=strided|max")
    avg = find(report.groups, pooling="avg")
    cmp = compare(strided.stat("test/acc"), maxpool.stat("test/acc"), lower_is_better=False)
    text = (
        f"Strided convolution: {describe(strided, 'test/acc')}; max pooling: "
        f"{describe(maxpool, 'test/acc')}"
        + (f"; average pooling: {describe(avg, 'test/acc')}." if avg else ".")
    )
    if cmp == "worse":
        return Verdict("does not hold", text + " Strided convolution is clearly worse.")
    return Verdict("holds", text + f" Strided vs max pooling: {cmp}.")


def judge_activation(report: Report, curves: Curves) -> Verdict:
    old = find(report.groups, activation="sigmoid", pooling="avg")
    new = find(report.groups, activation="relu", pooling="max")
    if old is None or new is None:
        return _missing(report, "sigmoid+avg and relu+max")
    top = best(report.groups, "test/acc", lower_is_better=False)
    cmp = compare(new.stat("test/acc"), old.stat("test/acc"), lower_is_better=False)
    text = (
        f"D2L's LeNet (sigmoid, avg): {describe(old, 'test/acc')}; modernised (ReLU, max): "
        f"{describe(new, 'test/acc')}; best group: {top.label if top else '–'}. "
        f"Modernised vs original: {cmp}."
    )
    return Verdict("holds" if cmp == "better" else "does not hold", text)


CLAIMS = (
    Claim("setup", "The data: 1,000 pairs uniform in (0, 20000)",
          "1,000 pairs sampled uniformly from (0, 20000).", "max_tasks", (), judge_setup),
    Claim("normalization", "ReLU nets need positive inputs; normalising helps",
          "ReLU nets need mostly positive inputs; normalising the data helps a lot.",
          "max_normalization", ("test/mae", "test/mse"), judge_normalization),
    Claim("tasks", "Classifying is easy, regressing the max is harder",
          "A classifier of 'which one is larger' trains easily; regression of the max value is "
          "harder.", "max_tasks", ("test/acc", "test/mae"), judge_tasks,
          plots=("test/acc", "test/mae")),
    Claim("gated", "The gated product trains only at lr ≈ 1e-8 and ends near loss 5",
          "Multiplying the classifier's output by the raw inputs gives the max; that trained "
          "only with a learning rate around 1e-8 and ended near loss 5.",
          "max_gated_lr", ("test/mae", "test/mse"), judge_gated),
    Claim("capacity", "A wider and deeper net reaches a loss around 0.05",
          "A wider and deeper plain network reached a loss around 0.05.",
          "max_capacity", ("test/mae", "test/loss"), judge_capacity),
    Claim("optimizers", "SGD fails, only Adam works",
          "SGD failed and only Adam worked.", "max_optimizers", ("test/mae",), judge_optimizers),
    Claim("batch_size", "Mini-batches fail, only batch size 1 works",
          "Mini-batches failed and only batch size 1 worked.", "max_batch_size",
          ("test/mae",), judge_batch_size),
    Claim("pooling", "Strided convolution can replace max pooling",
          "Max pooling can be replaced by a learnable layer (All-CNN: a strided convolution).",
          "pooling", ("test/acc",), judge_pooling),
    Claim("activation", "D2L's exercise: ReLU and max pooling modernise LeNet",
          "D2L §6.6 exercises: replacing sigmoid and average pooling by ReLU and max pooling "
          "improves LeNet.", "lenet_activation", ("test/acc",), judge_activation),
)  # fmt: skip

SWEEPS = tuple(dict.fromkeys(claim.sweep for claim in CLAIMS))


def sweep_file(name: str, conf_dir: Path = Path("conf")) -> Path:
    return conf_dir / "sweep" / f"{name}.yaml"
