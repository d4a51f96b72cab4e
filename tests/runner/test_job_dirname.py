"""Job folder names: short, safe, and the values that tell jobs apart survive a cut."""

from convlab.runner.overrides import MAX_LENGTH, job_dirname


def test_sweep_keys_lead_and_group_prefixes_are_dropped():
    name = job_dirname(4, ["seed=1", "model.pooling=strided"], first=["model.pooling", "seed"])
    assert name == "4_pooling=strided,seed=1"


def test_a_long_path_goes_last_so_a_command_line_seed_survives_the_cut():
    overrides = ["seed=2", f"data.data_dir=/tmp/{'x' * 80}/fashion", "data.val_size=10"]
    name = job_dirname(1, overrides)
    assert len(name) <= MAX_LENGTH
    assert "seed=2" in name and "/" not in name
    assert name.index("seed=2") < name.index("data_dir")


def test_cut_names_of_different_jobs_differ():
    long = f"data.data_dir=/tmp/{'y' * 90}"
    assert job_dirname(0, [long, "seed=1"]) != job_dirname(0, [long, "seed=2"])
