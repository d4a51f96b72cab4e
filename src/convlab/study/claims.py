"""The claims of the original study, each judged from the report of the sweep that tests it:
a verdict word and a paragraph built only from the numbers, by the rules of ``rules.py``."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from convlab.report import Report
from convlab.report.curves import Curves
from convlab.report.statistics import fmt_p, spearman
from convlab.report.summary import Group, Stat, fmt_number
from convlab.study.rules import (
    EASY_ACC,
    LEARNS_MAE,
    Contrast,
    all_completed,
    best,
    combine,
    contrast,
    describe,
    find,
    learns,
    trains_easily,
)


@dataclass
class Verdict:
    word: str  # holds | does not hold | not resolved at n = k | ... | reproduced | inconclusive
    text: str
    contrasts: list[Contrast] = field(default_factory=list)  # behind the word, in RESULTS.md


@dataclass(frozen=True)
class Claim:
    title: str
    original: str
    sweep: str
    metrics: tuple[str, ...]
    judge: Callable[..., Verdict]
    # metrics whose final-value plot and validation curve go into RESULTS.md (None: the first)
    plots: tuple[str, ...] | None = None
    # other sweeps the claim also reads, given to its judge as ``{sweep name: Report}``
    also: tuple[str, ...] = ()


def _missing(*names: str) -> Verdict:
    return Verdict("inconclusive", f"The sweep has no runs for {', '.join(names)}.")


def epochs_to(group: Group, curves: Curves, tag: str, threshold: float, lower: bool) -> Stat:
    """Epochs until ``tag`` first reaches ``threshold``, per completed run (NaN: never)."""
    return Stat.of([next((epoch for epoch, v in curves.get(run.name, {}).get(tag, [])
                          if (v <= threshold if lower else v >= threshold)), math.nan)
                    for run in group.completed])  # fmt: skip


def job_config(report: Report) -> DictConfig | None:
    """The config of the sweep's first job that saved one."""
    for run in report.runs:
        for folder in (run.path, run.path.parent):  # a member shares its job's config
            if (path := folder / ".hydra" / "config.yaml").is_file():
                return OmegaConf.load(path)
    return None


def judge_setup(report: Report, curves: Curves) -> Verdict:
    cfg = job_config(report)
    if cfg is None:
        return _missing("any job")
    data = cfg.data
    same = (data.n_train, float(data.low), float(data.high)) == (1000, 0.0, 20000.0)
    text = (f"The runs trained on `data.n_train={data.n_train}` pairs uniform in ("
            f"{fmt_number(float(data.low))}, {fmt_number(float(data.high))}), validated on "
            f"{data.n_val} and tested on {data.n_test} pairs, each split drawn from its own fixed "
            f"seed ({data.train_seed}, {data.val_seed}, {data.test_seed}), so every run of every "
            "sweep is scored on the same test pairs whatever its training seed.")  # fmt: skip
    return Verdict("reproduced" if same else "differs", text)


def judge_normalization(report: Report, curves: Curves) -> Verdict:
    none, unit, standard = (find(report.groups, normalization=n)
                            for n in ("none", "unit", "standard"))  # fmt: skip
    if None in (none, unit, standard):
        return _missing("data.normalization=none|unit|standard")
    metric = "test/mae"
    normalised = best([unit, standard], metric, lower_is_better=True) or unit
    helps = contrast(normalised, none, metric, lower_is_better=True)
    positive = contrast(unit, standard, metric, lower_is_better=True)
    parts = [f"Without normalisation: {describe(none, metric)}; unit (inputs in [0, 1], all "
             f"positive): {describe(unit, metric)}; standard (zero mean, half the inputs "
             f"negative): {describe(standard, metric)}.",
             f"Normalising helps ({normalised.label} below none): {helps.reading}.",
             f"All-positive inputs help (unit below standard): {positive.reading}."]  # fmt: skip
    if not all_completed(none) and all_completed(normalised):
        parts.append("Runs on raw pairs diverged where normalised ones did not.")
    return Verdict(combine([helps, positive]), " ".join(parts), [helps, positive])


def judge_tasks(report: Report, curves: Curves) -> Verdict:
    clf = find(report.groups, experiment="max_classification")
    reg = find(report.groups, experiment="max_regression")
    if clf is None or reg is None:
        return _missing("experiment=max_classification|max_regression")
    clf_easy, reg_learns = trains_easily(clf), learns(reg)
    clf_epochs = epochs_to(clf, curves, "val/acc", EASY_ACC, lower=False)
    reg_epochs = epochs_to(reg, curves, "val/mae", LEARNS_MAE, lower=True)
    parts = [f"Classifier: {describe(clf, 'test/acc')}, first reaching val/acc ≥ {EASY_ACC} "
             f"after {clf_epochs.format(3)} epochs ({clf_epochs.n} of {len(clf.completed)} runs "
             f"reach it). Regressor: {describe(reg, 'test/mae')}, first reaching val/mae ≤ "
             f"{fmt_number(LEARNS_MAE)} after {reg_epochs.format(3)} epochs ({reg_epochs.n} of "
             f"{len(reg.completed)} runs reach it)."]  # fmt: skip
    if not clf_easy:
        return Verdict("does not hold", " ".join([*parts, "The classifier did not train easily."]))
    if not reg_learns:
        parts.append("The classifier trains easily and the regressor does not reach the "
                     "threshold in the same budget.")  # fmt: skip
        return Verdict("holds", " ".join(parts))
    later = contrast(reg_epochs, clf_epochs, "epochs to threshold", lower_is_better=False,
                     names=("regression", "classification"))  # fmt: skip
    parts.append(f"Both get there; the regressor takes more epochs: {later.reading}.")
    return Verdict(later.reading, " ".join(parts), [later])


def judge_gated(report: Report, curves: Curves) -> Verdict:
    lr_groups = sorted((g for g in report.groups if "optimizer.lr" in g.settings),
                       key=lambda g: float(g.settings["optimizer.lr"]))  # fmt: skip
    if not lr_groups:
        return _missing("optimizer.lr")
    learned = [g for g in lr_groups if learns(g)]
    parts = [f"lr {g.settings['optimizer.lr']}: {describe(g, 'test/mae')}, "
             f"test/mse {g.stat('test/mse').format()}" for g in lr_groups]  # fmt: skip
    text = "; ".join(parts) + "."
    tiny = [g for g in lr_groups if float(g.settings["optimizer.lr"]) <= 1e-7]
    word = "holds" if learned and all(g in tiny for g in learned) else "does not hold"
    if word == "holds":
        text += " Only the tiny learning rates learn the max."
    elif learned:
        names = ", ".join(g.settings["optimizer.lr"] for g in learned)
        text += f" The gated net learns at lr {names}, not only around 1e-8."
    else:
        text += " No learning rate lets the gated net learn the max in this budget."
    if learned:
        mse = best(learned, "test/mse", lower_is_better=True).stat("test/mse")
        near = 5 / 3 <= mse.mean <= 5 * 3
        text += (f" Its best final test/mse is {mse.format()} (original units); the original's "
                 f"'loss near 5' {'matches' if near else 'does not match'} within a factor of 3 "
                 "(the original's loss units are not stated).")  # fmt: skip
    return Verdict(word, text)


def judge_capacity(report: Report, curves: Curves) -> Verdict:
    sized = [g for g in report.groups if {"model.width", "model.depth"} <= g.settings.keys()]
    if not sized:
        return _missing("model.width × model.depth")

    def size(g: Group) -> tuple[int, int]:
        return int(g.settings["model.width"]), int(g.settings["model.depth"])

    small, large = min(sized, key=size), max(sized, key=size)
    top = best(sized, "test/mae", lower_is_better=True)
    bigger = contrast(large, small, "test/mae", lower_is_better=True)
    loss = large.stat("test/loss")
    parts = [f"Smallest ({small.label}): {describe(small, 'test/mae')}; largest ({large.label}): "
             f"{describe(large, 'test/mae')}, test/loss {loss.format()} (MSE in normalised "
             f"units); best: {top.label if top else '–'}. Wider and deeper is better: "
             f"{bigger.reading}."]  # fmt: skip
    reaches = loss.mean <= 0.05  # False without a value (NaN)
    parts.append(f"The largest net's loss is {'at or below' if reaches else 'above'} 0.05 "
                 "(the original's loss units are not stated; this is the MSE of standardised "
                 "targets).")  # fmt: skip
    word = bigger.reading
    if word == "holds" and not reaches:
        word = "partly holds (bigger is better, loss above 0.05)"
    return Verdict(word, " ".join(parts), [bigger])


def _best_setting(groups: list[Group], metric: str = "test/mae") -> Group | None:
    """The lowest error of the groups whose runs all completed, else the most complete group."""
    if finished := [g for g in groups if all_completed(g)]:
        return best(finished, metric, lower_is_better=True)
    return max(groups, key=lambda g: len(g.completed)) if groups else None


def _at_lr(group: Group) -> str:
    lr = group.settings.get("optimizer.lr")
    return f" (at its better lr, {lr})" if lr else ""


def _matching(groups: list[Group], **settings: str) -> list[Group]:
    return [g for g in groups if find([g], **settings) is g]


def judge_optimizers(report: Report, curves: Curves) -> Verdict:
    norms = sorted({g.settings.get("data.normalization", "-") for g in report.groups})
    per_norm, parts, contrasts = {}, [], []
    for norm in norms:
        where = {} if norm == "-" else {"normalization": norm}
        sgd = _best_setting(_matching(report.groups, optimizer="sgd", **where))
        adam = _best_setting(_matching(report.groups, optimizer="adam", **where))
        if sgd is None or adam is None:
            return _missing(f"optimizer=sgd|adam at normalization={norm}")
        per_norm[norm] = (learns(sgd), learns(adam))
        contrasts.append(contrast(adam, sgd, "test/mae", lower_is_better=True))
        parts.append(f"normalization={norm}: SGD{_at_lr(sgd)} {describe(sgd, 'test/mae')}; "
                     f"Adam{_at_lr(adam)} {describe(adam, 'test/mae')}")  # fmt: skip
    readings = ", ".join(f"{norm} {c.reading}" for norm, c in zip(norms, contrasts, strict=True))
    text = f"{'; '.join(parts)}. Adam below SGD: {readings}."
    outcomes = set(per_norm.values())
    if outcomes == {(False, True)}:
        text += " Only Adam learns the max, with or without normalising."
        return Verdict("holds", text, contrasts)
    if len(outcomes) > 1:
        word = {True: "learns", False: "fails"}
        detail = ", ".join(f"{n}: SGD {word[s]}, Adam {word[a]}" for n, (s, a) in per_norm.items())
        return Verdict("depends on the normalisation", f"{text} ({detail}).", contrasts)
    ending = {(True, True): "Both optimizers learn the max.",
              (True, False): "SGD learns the max and Adam does not.",
              (False, False): "Neither optimizer learns the max in this budget."}  # fmt: skip
    return Verdict("does not hold", f"{text} {ending[outcomes.pop()]}", contrasts)


# Batch size, three arms in one sweep (conf/sweep/batch_arm/<arm>_<size>.yaml): equal epochs,
# equal optimizer steps (~1,000, constant lr), and the lr scaled linearly with the batch size.
BATCH_ARMS = ("epochs", "steps", "lr")


def _arm(group: Group) -> tuple[str, int] | None:
    """``("steps", 16)`` for a group of ``sweep/batch_arm@_global_=steps_16``."""
    for key, value in group.settings.items():
        if key.split("@")[0].endswith("batch_arm"):
            arm, _, size = value.rpartition("_")
            return arm, int(size)
    return None


def batch_groups(report: Report, arm: str) -> dict[str, dict[int, Group]]:
    """optimizer → batch size → group of one arm, both sorted; the lr arm's batch size 1 is the
    epochs arm's (lr 1e-3 × 1 is the unscaled lr)."""
    found: dict[str, dict[int, Group]] = {}
    for group in report.groups:
        where = _arm(group)
        if where and (where[0] == arm or (arm == "lr" and where == ("epochs", 1))):
            found.setdefault(group.settings.get("optimizer", "-"), {})[where[1]] = group
    return {opt: dict(sorted(by_size.items())) for opt, by_size in sorted(found.items())}


def judge_batch_arm(arm: str) -> Callable[[Report, Curves], Verdict]:
    def judge(report: Report, curves: Curves) -> Verdict:
        groups = batch_groups(report, arm)
        sizes = [size for by_size in groups.values() for size in by_size]
        if 1 not in sizes or len(sizes) < 2:
            return _missing(f"sweep/batch_arm@_global_={arm}_1 and a larger one")
        parts, contrasts = [], []
        for opt, by_size in groups.items():
            rows = []
            for size, group in by_size.items():
                steps = Stat.of([float(r.record.get("steps") or "nan") for r in group.completed])
                after = f" after {steps.mean:.0f} steps" if steps.n else ""
                rows.append(f"batch {size}: {describe(group, 'test/mae')}{after}")
                if size != 1 and 1 in by_size:
                    names = (f"{opt} batch 1", f"{opt} batch {size}")
                    contrasts.append(contrast(by_size[1], group, "test/mae", True, names=names))
            parts.append(f"{opt}: " + "; ".join(rows))
        text = ". ".join(parts) + ". Batch size 1 below each larger batch: " + ", ".join(
            f"{c.b} {c.reading}" for c in contrasts) + "."  # fmt: skip
        learned = [f"{opt} batch {size}" for opt, by_size in groups.items()
                   for size, g in by_size.items() if size > 1 and learns(g)]  # fmt: skip
        if learned:
            text += f" Larger batches that learn the max: {', '.join(learned)}."
        return Verdict(combine(contrasts), text, contrasts)

    return judge


def judge_sharpness(report: Report, curves: Curves) -> Verdict:
    """Keskar et al.: larger batches reach sharper minima, and sharper minima generalise worse."""
    contrasts, parts = [], []
    for arm in BATCH_ARMS:
        for opt, by_size in batch_groups(report, arm).items():
            largest = max(by_size)
            if largest > 1 and 1 in by_size:
                names = (f"{opt} batch {largest} ({arm})", f"{opt} batch 1")
                large, small = by_size[largest], by_size[1]
                contrasts.append(contrast(large, small, "sharpness", False, names=names))
    if not contrasts:
        return _missing("sharpness of batch size 1 and a larger one")
    runs = [run for group in report.groups if _arm(group) for run in group.completed]
    by_opt = {opt: [r for r in runs if r.overrides.get("optimizer") == opt]
              for opt in sorted({r.overrides.get("optimizer", "-") for r in runs})}  # fmt: skip
    for label, subset in [("all runs", runs), *by_opt.items()]:
        rho, p, n = spearman([r.metrics.get("sharpness", math.nan) for r in subset],
                             [r.metrics.get("test/mae", math.nan) for r in subset])  # fmt: skip
        parts.append(f"{label}: ρ = {fmt_number(rho) if math.isfinite(rho) else '–'}, "
                     f"p = {fmt_p(p)}, n = {n}")  # fmt: skip
    sharper = combine(contrasts)
    text = ("Largest batch sharper than batch size 1 (top Hessian eigenvalue of the training "
            "loss, in the standardised units the net trains in), per arm and optimizer: "
            + "; ".join(f"{c.a} vs {c.b}: {c.reading}" for c in contrasts)
            + ". Does sharpness track the test error? Spearman's rank correlation of sharpness "
            "with test/mae over the completed runs of all arms: " + "; ".join(parts)
            + ".")  # fmt: skip
    return Verdict(f"larger batches sharper: {sharper}", text, contrasts)


POOLING_MARGIN = 0.01  # test accuracy: "can replace" = not worse by more than 1 point


def judge_pooling(report: Report, curves: Curves) -> Verdict:
    strided, maxpool = find(report.groups, pooling="strided"), find(report.groups, pooling="max")
    if strided is None or maxpool is None:
        return _missing("model.pooling=strided|max")
    avg = find(report.groups, pooling="avg")
    replace = contrast(strided, maxpool, "test/acc", False, margin=POOLING_MARGIN)
    contrasts = [replace] + ([contrast(maxpool, avg, "test/acc", False)] if avg else [])
    text = (f"Strided convolution: {describe(strided, 'test/acc')}; max pooling: "
            f"{describe(maxpool, 'test/acc')}"
            + (f"; average pooling: {describe(avg, 'test/acc')}." if avg else ".")
            + f" Strided not worse than max pooling by more than {POOLING_MARGIN} accuracy: "
            f"{replace.reading}.")  # fmt: skip
    if avg:
        text += f" Max above average pooling: {contrasts[1].reading}."
    return Verdict(replace.reading, text, contrasts)


def judge_activation(report: Report, curves: Curves, others: dict[str, Report]) -> Verdict:
    # a key every run shares (activation=sigmoid alone) is in report.common, not in the groups
    groups = [Group({**report.common, **g.settings}, g.runs) for g in report.groups]
    old = find(groups, activation="sigmoid", pooling="avg")
    new = find(groups, activation="relu", pooling="max")
    source = ""
    if new is None and (relu_from := others.get("pooling")) is not None:
        new = find(relu_from.groups, pooling="max")
        source = " (ReLU runs from the pooling sweep)"
    if old is None or new is None:
        return _missing("sigmoid+avg and relu+max")
    sig_max = find(groups, activation="sigmoid", pooling="max")
    modern = contrast(new, old, "test/acc", False, names=("ReLU + max", "sigmoid + avg"))
    contrasts = [modern]
    text = (f"D2L's LeNet (sigmoid, avg): {describe(old, 'test/acc')}; modernised (ReLU, max)"
            f"{source}: {describe(new, 'test/acc')}.")  # fmt: skip
    if sig_max is not None:
        pooling_only = contrast(sig_max, old, "test/acc", False,
                                names=("sigmoid + max", "sigmoid + avg"))  # fmt: skip
        contrasts.append(pooling_only)
        text += (f" Sigmoid with max pooling: {describe(sig_max, 'test/acc')} (max pooling "
                 f"alone above avg: {pooling_only.reading}).")  # fmt: skip
    text += f" Modernised above D2L's: {modern.reading}."
    return Verdict(modern.reading, text, contrasts)


def judge_switch(report: Report, curves: Curves) -> Verdict:
    norms = sorted({g.settings.get("data.normalization", "-") for g in report.groups})
    contrasts, parts = [], []
    for norm in norms:
        where = {} if norm == "-" else {"normalization": norm}
        by = {opt: find(report.groups, optimizer=opt, **where)
              for opt in ("adam_then_sgd", "adam", "sgd")}  # fmt: skip
        if any(g is None for g in by.values()):
            return _missing(f"optimizer=adam_then_sgd|adam|sgd at normalization={norm}")
        switch = by["adam_then_sgd"]
        pair = [contrast(switch, by[o], "test/mae", lower_is_better=True) for o in ("adam", "sgd")]
        contrasts += pair
        parts.append(f"normalization={norm}: Adam then SGD {describe(switch, 'test/mae')}, Adam "
                     f"only {describe(by['adam'], 'test/mae')}, SGD only "
                     f"{describe(by['sgd'], 'test/mae')} (below Adam: {pair[0].reading}; below "
                     f"SGD: {pair[1].reading})")  # fmt: skip
    return Verdict(combine(contrasts), "; ".join(parts) + ".", contrasts)


def judge_residual(report: Report, curves: Curves) -> Verdict:
    residual, plain = find(report.groups, model="residual_mlp"), find(report.groups, model="mlp")
    if residual is None or plain is None:
        return _missing("model=mlp|residual_mlp")
    c = contrast(residual, plain, "test/mae", lower_is_better=True)
    text = (f"Residual MLP: {describe(residual, 'test/mae')}; plain MLP: "
            f"{describe(plain, 'test/mae')}, at equal parameter count (4,509 vs 4,417). "
            f"Residual below plain: {c.reading}.")  # fmt: skip
    return Verdict(c.reading, text, [c])


PATCH_CLOSE = 0.01  # mean absolute error, 1 % of the (0, 1) range of the patches


def judge_maxpool(report: Report, curves: Curves, others: dict[str, Report]) -> Verdict:
    sources = sorted({g.settings.get("data.source", "-") for g in report.groups})
    contrasts, parts, close = [], [], {}
    for source in sources:
        where = {} if source == "-" else {"source": source}
        models = {m: find(report.groups, model=m, **where)
                  for m in ("patch_linear", "patch_relu", "patch_exact")}  # fmt: skip
        linear, relu = models["patch_linear"], models["patch_relu"]
        if linear is None or relu is None:
            return _missing(f"model=patch_linear|patch_relu at data.source={source}")
        for name, group in models.items():
            if group is None:
                continue
            val, test = group.stat("val/mae"), group.stat("test/mae")
            parts.append(f"{source}, {name}: val/mae {val.format()}, test/mae {test.format()}")
            if name != "patch_exact":
                close[source, name] = (val.mean <= PATCH_CLOSE, test.mean <= PATCH_CLOSE)
        for metric in ("val/mae", "test/mae"):
            contrasts.append(contrast(relu, linear, metric, lower_is_better=True))
    text = "; ".join(parts) + (
        f". Close to max pooling: mean MAE at most {PATCH_CLOSE} (1 % of the patch range). "
        + "; ".join(f"{src} {m}: in range {'yes' if v else 'no'}, out of range "
                    f"{'yes' if t else 'no'}" for (src, m), (v, t) in close.items())
        + ". ReLU layer below the linear one: "
        + ", ".join(f"{c.metric} {c.reading}" for c in contrasts) + ".")  # fmt: skip
    relu_ok = [v and t for (src, m), (v, t) in close.items() if m == "patch_relu"]
    linear_ok = [v for (src, m), (v, t) in close.items() if m == "patch_linear"]
    if relu_ok and all(relu_ok):
        word = "holds (a conv + ReLU layer, in and out of range)"
    elif any(v for (src, m), (v, t) in close.items() if m == "patch_relu"):
        word = "holds in range only (a conv + ReLU layer)"
    else:
        word = "does not hold"
    if any(linear_ok):
        word += "; a strided convolution alone gets close"
    pooling = others.get("pooling")
    if pooling is not None:
        strided, maxpool = (find(pooling.groups, pooling=p) for p in ("strided", "max"))
        if strided is not None and maxpool is not None:
            tie = contrast(strided, maxpool, "test/acc", False, margin=POOLING_MARGIN)
            text += (" Tie to LeNet (pooling sweep): a strided convolution is linear, so it cannot "
                     "compute the max, yet as LeNet's down-sampling it reaches "
                     f"{describe(strided, 'test/acc')} against max pooling's "
                     f"{describe(maxpool, 'test/acc')} (not worse by more than {POOLING_MARGIN}: "
                     f"{tie.reading}): the classifier does not need the max itself.")  # fmt: skip
            contrasts.append(tie)
    return Verdict(word, text, contrasts)


# Sensitivity to position and noise (callbacks=shift_noise): the ReLU rows from the pooling sweep,
# the sigmoid rows from lenet_activation, each activation compared within itself.
FEATURE_CHANGE = "test/feature_change_1px"


def pooling_arms(report: Report, others: dict[str, Report]) -> dict[str, dict[str, Group]]:
    """activation → down-sampling (avg, max, strided) → its group."""
    arms = {}
    for activation, source in (("ReLU", report), ("sigmoid", others.get("lenet_activation"))):
        if source is None:
            continue
        # a key every run shares (activation=sigmoid alone) is in report.common, not in the groups
        groups = [Group({**source.common, **g.settings}, g.runs) for g in source.groups]
        where = {"activation": "sigmoid"} if activation == "sigmoid" else {}
        found = {p: find(groups, pooling=p, **where) for p in ("avg", "max", "strided")}
        arms[activation] = {p: g for p, g in found.items() if g is not None}
    return arms


def _drop(group: Group, metric: str) -> Stat:
    """Per completed run, test/acc minus ``metric`` (what the shift or the noise costs)."""
    return Stat.of([r.metrics.get("test/acc", math.nan) - r.metrics.get(metric, math.nan)
                    for r in group.completed])  # fmt: skip


def judge_position(report: Report, curves: Curves, others: dict[str, Report]) -> Verdict:
    arms = pooling_arms(report, others)
    contrasts, parts = [], []
    for activation, by in arms.items():
        if "strided" not in by or not any(g.stat(FEATURE_CHANGE).n for g in by.values()):
            continue
        parts.append(f"{activation}: " + ", ".join(
            f"{p} {describe(g, FEATURE_CHANGE)}" for p, g in by.items()))  # fmt: skip
        for pooling in ("avg", "max"):
            if pooling in by:
                names = (f"{activation}, {pooling} pooling", f"{activation}, strided")
                contrasts.append(contrast(by[pooling], by["strided"], FEATURE_CHANGE, True,
                                          names=names))  # fmt: skip
    if not contrasts:
        return _missing(
            f"model.pooling=avg|max|strided with {FEATURE_CHANGE} (callbacks=shift_noise)"
        )
    text = ("Relative change of the last down-sampling layer's output under a 1-pixel shift "
            "(mean over the four directions of ‖f(shifted x) − f(x)‖ / ‖f(x)‖, test split): "
            + "; ".join(parts) + ". Pooling below the strided convolution: "
            + ", ".join(f"{c.a} {c.reading}" for c in contrasts) + ".")  # fmt: skip
    return Verdict(combine(contrasts), text, contrasts)


def judge_shift_robust(report: Report, curves: Curves, others: dict[str, Report]) -> Verdict:
    arms = pooling_arms(report, others)
    metrics = sorted({m for source in (report, *others.values()) for m in source.metrics})
    shifts = [m for m in metrics if m.startswith("test/acc_shift_")]
    noises = [m for m in metrics if m.startswith("test/acc_noise_")]
    shifted, noisy, parts = [], [], []
    for activation, by in arms.items():
        if "max" not in by or "strided" not in by:
            continue
        for metric in shifts + noises:
            names = (f"{activation}, max pooling", f"{activation}, strided")
            c = contrast(_drop(by["max"], metric), _drop(by["strided"], metric),
                         f"test/acc − {metric}", lower_is_better=True, names=names)  # fmt: skip
            (shifted if metric in shifts else noisy).append(c)
        parts.append(f"{activation}: max pooling {describe(by['max'], 'test/acc')}, strided "
                     f"{describe(by['strided'], 'test/acc')}")  # fmt: skip
    if not shifted:
        return _missing("model.pooling=max|strided with test/acc_shift_* (callbacks=shift_noise)")

    def listed(contrasts: list[Contrast]) -> str:
        return ", ".join(f"{c.a.split(',')[0]} {c.metric.rsplit('_', 1)[-1]} {c.reading}"
                         for c in contrasts)  # fmt: skip

    text = ("; ".join(parts) + ". Accuracy lost on the test split shifted by 1–3 pixels (mean "
            "of the four directions, zero fill), smaller for max pooling than for the strided "
            f"convolution: {listed(shifted)}. The verdict is the shifts'; under additive "
            f"Gaussian noise (std in pixel units): {listed(noisy) or 'not measured'}.")  # fmt: skip
    return Verdict(combine(shifted), text, shifted + noisy)


CLAIMS = (
    Claim("The data: 1,000 pairs uniform in (0, 20000)",
          "1,000 pairs sampled uniformly from (0, 20000).", "max_tasks",
          ("test/acc", "test/mae"), judge_setup, plots=()),
    Claim("ReLU nets need positive inputs; normalising helps",
          "ReLU nets need mostly positive inputs; normalising the data helps a lot.",
          "max_normalization", ("test/mae", "test/mse"), judge_normalization),
    Claim("Classifying is easy, regressing the max is harder",
          "A classifier of 'which one is larger' trains easily; regression of the max value is "
          "harder.", "max_tasks", ("test/acc", "test/mae"), judge_tasks,
          plots=("test/acc", "test/mae")),
    Claim("The gated product trains only at lr ≈ 1e-8 and ends near loss 5",
          "Multiplying the classifier's output by the raw inputs gives the max; that trained "
          "only with a learning rate around 1e-8 and ended near loss 5.",
          "max_gated_lr", ("test/mae", "test/mse"), judge_gated),
    Claim("A wider and deeper net reaches a loss around 0.05",
          "A wider and deeper plain network reached a loss around 0.05.",
          "max_capacity", ("test/mae", "test/loss"), judge_capacity),
    Claim("SGD fails, only Adam works",
          "SGD failed and only Adam worked.", "max_optimizers", ("test/mae",), judge_optimizers),
    Claim("Mini-batches fail, only batch size 1 works: at equal epochs",
          "Mini-batches failed and only batch size 1 worked.", "max_batch_size",
          ("test/mae", "sharpness"), judge_batch_arm("epochs")),
    Claim("Mini-batches fail: at equal optimizer steps",
          "Mini-batches failed and only batch size 1 worked. (Fair version: every batch size "
          "gets the same number of optimizer steps.)", "max_batch_size",
          ("test/mae", "sharpness"), judge_batch_arm("steps"), plots=()),
    Claim("Mini-batches fail: with the lr scaled linearly",
          "Mini-batches failed and only batch size 1 worked. (Fair version: the learning rate "
          "scaled linearly with the batch size, Goyal et al. 2017.)", "max_batch_size",
          ("test/mae", "sharpness"), judge_batch_arm("lr"), plots=()),
    Claim("Larger batches reach sharper minima, which generalise worse",
          "Keskar et al. (2017): large-batch training converges to sharp minima, and sharp "
          "minima generalise worse.", "max_batch_size", ("sharpness", "test/mae"), judge_sharpness),
    Claim("Adam then SGD beats Adam only and SGD only",
          "Switching from Adam to SGD (Keskar & Socher 2017) combines Adam's fast start with "
          "SGD's better final solution.", "max_optimizer_switch", ("test/mae",), judge_switch),
    Claim("A residual connection helps at equal parameter count",
          "Residual connections make a plain MLP easier to train (He et al. 2016), here at the "
          "same number of parameters.", "max_residual", ("test/mae",), judge_residual),
    Claim("Strided convolution can replace max pooling",
          "Max pooling can be replaced by a learnable layer (All-CNN: a strided convolution).",
          "pooling", ("test/acc",), judge_pooling),
    Claim("A learnable layer can be max pooling",
          "Max pooling is a function a small learnable layer can learn (the question behind "
          "All-CNN's replacement).", "maxpool_fn", ("val/mae", "test/mae"), judge_maxpool,
          plots=("test/mae",), also=("pooling",)),
    Claim("D2L's exercise: ReLU and max pooling modernise LeNet",
          "D2L §6.6 exercises: replacing sigmoid and average pooling by ReLU and max pooling "
          "improves LeNet.", "lenet_activation", ("test/acc",), judge_activation,
          also=("pooling",)),
    Claim("Pooling lowers sensitivity to position",
          "Pooling lowers the convolution's sensitivity to position.", "pooling",
          (FEATURE_CHANGE, "test/acc"), judge_position, plots=(FEATURE_CHANGE,),
          also=("lenet_activation",)),
    Claim("Max pooling is more shift-robust than a strided convolution",
          "Max pooling, a symmetric function, keeps its output under small shifts and noise; a "
          "strided convolution is static where max pooling is dynamic.", "pooling",
          ("test/acc", "test/acc_shift_1px", "test/acc_shift_2px", "test/acc_shift_3px",
           "test/acc_noise_0.1", "test/acc_noise_0.3"), judge_shift_robust,
          plots=("test/acc_shift_1px",), also=("lenet_activation",)),
)  # fmt: skip

SWEEPS = tuple(dict.fromkeys(claim.sweep for claim in CLAIMS))
# Minutes per sweep of the full study on 2 idle CPU cores: measured by the last full run
# (docs/RESULTS.md's header), or estimated from it where a sweep changed since (docs/study.md).
ESTIMATE_MIN = {"max_tasks": 0.5, "max_normalization": 0.5, "max_gated_lr": 0.3,
                "max_capacity": 1.7, "max_optimizers": 0.8, "max_batch_size": 2.8,
                "max_optimizer_switch": 0.6, "max_residual": 4.7, "pooling": 13.3,
                "maxpool_fn": 1.6, "lenet_activation": 6.6}  # fmt: skip


def sweep_file(name: str, conf_dir: Path = Path("conf")) -> Path:
    return conf_dir / "sweep" / f"{name}.yaml"
