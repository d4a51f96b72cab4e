"""The benches time what train.py runs: members=K trains K stacked seeds there too."""

from convlab.bench.pairs import pipeline_epochs


def test_the_members_side_trains_stacked_members(tmp_path):
    durations, steps = pipeline_epochs("max_regression", 1, 3, tmp_path, ["members=2"])
    assert len(durations) == 1 and steps > 0
    members = sorted(path.parent.name for path in tmp_path.glob("*/seed=*/metrics.json"))
    assert members == ["seed=3", "seed=4"]
