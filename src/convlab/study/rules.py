"""The rules that turn a sweep's numbers into words; every verdict of the study uses only these.
``explain`` states them, with their numbers, at the top of RESULTS.md."""

from dataclasses import dataclass

from convlab.report.statistics import ALPHA, Difference, welch
from convlab.report.summary import STATUS_ORDER, Group, Stat, fmt_number

RANGE = 20000.0
LEARNS_MAE = 0.01 * RANGE
EASY_ACC = 0.99
MIDPOINT_MAE = RANGE / 6


def explain() -> list[str]:
    """The rules above as markdown bullets, with their numbers, for RESULTS.md."""
    return [
        "- **Comparisons**: every comparison of two groups gives the difference of their means "
        f"with a {1 - ALPHA:.0%} confidence interval (t with the Welch–Satterthwaite degrees of "
        "freedom) and Welch's t-test p (`scipy.stats.ttest_ind(equal_var=False)`), with n, "
        "the completed runs per group. Diverged runs have no value; they are counted in the "
        "tables and fail the *learns* rule below.",
        f"- **Verdict of a comparison**: a claim that A is better than B **holds** when "
        f"p < {ALPHA} and the CI of A − B excludes 0 on the claimed side; it **does not hold** "
        f"when p < {ALPHA} and the CI excludes 0 on the other side; otherwise it is **not "
        "resolved at n = k** (more seeds could still decide it). For Welch's test the CI "
        "excludes 0 exactly when p < 0.05, so the two conditions agree. A claim made of "
        "several comparisons holds when all of them hold and does not hold when one of them "
        "does not.",
        "- **Can replace** (not worse by more than a stated margin): holds when the whole CI "
        "of A − B lies above −margin (in the better direction), does not hold when the whole "
        "CI lies below −margin, else not resolved.",
        "- **Seeds to decide** (a comparison not resolved): the fewest seeds per group at which "
        "Welch's test would decide it with 80 % power, taking the measured difference as the "
        "true one and the measured standard deviations as the spreads (the claims state no "
        "effect size); for a margin, the power that the CI clears it. Computed from scipy's "
        "noncentral t distribution (`convlab.study.power`), with the minutes its sweep would "
        "take at that n (its time now, scaled by the seeds).",
        f"- **Learns max(a, b)**: every run of the group completed (none diverged or failed) "
        f"and the mean test MAE is at most {LEARNS_MAE:g} (1 % of the range (0, {RANGE:g})). "
        f"For scale, answering (a + b) / 2 has an MAE of {MIDPOINT_MAE:.0f}.",
        f"- **Trains easily** (classifier): every run completed with a mean test accuracy of at "
        f"least {EASY_ACC}.",
        '- A sweep with unfinished runs (failed, killed) gets no verdict ("inconclusive"); '
        "diverged runs are a result and count against their group.",
    ]


@dataclass(frozen=True)
class Contrast:
    """The claim that ``a − b`` on ``metric`` has sign ``claimed`` (or, with ``margin``, is above
    −margin in the better direction)."""

    a: str
    b: str
    metric: str
    mean_a: Stat
    mean_b: Stat
    difference: Difference
    claimed: int
    margin: float | None = None

    @property
    def reading(self) -> str:
        d = self.difference
        if self.margin is None:
            return d.reading(self.claimed)
        # in the better direction: claimed * (a - b); worse than -margin is a failure
        low, high = sorted((self.claimed * d.low, self.claimed * d.high))
        if low > -self.margin:
            return "holds"
        if high < -self.margin:
            return "does not hold"
        return f"not resolved at n = {d.n}"  # also without a CI (NaN ends: fewer than 2 values)

    @property
    def claim(self) -> str:
        if self.margin is not None:
            return f"{self.a} not worse than {self.b} by more than {fmt_number(self.margin)}"
        return f"{self.a} {'above' if self.claimed > 0 else 'below'} {self.b}"


def contrast(a: Group | Stat, b: Group | Stat, metric: str, lower_is_better: bool,
             margin: float | None = None, names: tuple[str, str] | None = None,
             ) -> Contrast:  # fmt: skip
    """The claim "``a`` is better than ``b`` on ``metric``" (or "not worse by ``margin``"), of
    two groups or two ``Stat``s; ``names`` label them (default: the groups' labels)."""
    stat_a, stat_b = (x.stat(metric) if isinstance(x, Group) else x for x in (a, b))
    difference = welch(stat_a.values, stat_b.values)
    claimed = -1 if lower_is_better else 1
    return Contrast(*(names or (a.label, b.label)), metric, stat_a, stat_b, difference, claimed,
                    margin)  # fmt: skip


def combine(contrasts: list[Contrast]) -> str:
    """All hold: holds; one does not: does not hold; else not resolved at the smallest n."""
    readings = [c.reading for c in contrasts]
    if "does not hold" in readings:
        return "does not hold"
    if readings and all(r == "holds" for r in readings):
        return "holds"
    return next((r for r in readings if r.startswith("not resolved")), "not resolved at n = 0")


def all_completed(group: Group) -> bool:
    return bool(group.runs) and len(group.completed) == len(group.runs)


def learns(group: Group, metric: str = "test/mae", threshold: float = LEARNS_MAE) -> bool:
    return all_completed(group) and group.stat(metric).mean <= threshold  # NaN (no value): False


def trains_easily(group: Group, metric: str = "test/acc", threshold: float = EASY_ACC) -> bool:
    return all_completed(group) and group.stat(metric).mean >= threshold


def describe(group: Group, metric: str) -> str:
    """``test/mae 12.3 ± 1.1 (3/3 completed)`` or ``2 of 3 diverged``, for the verdict text."""
    stat = group.stat(metric)
    parts = [f"{metric} {stat.format()}"] if stat.n else []
    parts += [f"{n} of {len(group.runs)} {s}" for s in STATUS_ORDER[1:] if (n := group.count(s))]
    return ", ".join(parts) or "no runs"


def find(groups: list[Group], **settings: str) -> Group | None:
    """The group whose settings match ``settings`` (keys by their last dotted part)."""
    for group in groups:
        short = {key.rsplit(".", 1)[-1]: value for key, value in group.settings.items()}
        if all(short.get(k.rsplit(".", 1)[-1]) == str(v) for k, v in settings.items()):
            return group
    return None


def best(groups: list[Group], metric: str, lower_is_better: bool) -> Group | None:
    """The group with the best mean among those with at least one completed run."""
    sign = 1 if lower_is_better else -1
    return min((g for g in groups if g.stat(metric).n), key=lambda g: sign * g.stat(metric).mean,
               default=None)  # fmt: skip
