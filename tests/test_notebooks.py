"""The notebooks run top to bottom against tiny runs, and are stored without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT, make_fashion_fixture, run_script

NOTEBOOKS = ROOT / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))


def execute(name: str) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel from notebooks/, as Jupyter would; raise on any error."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    ).execute()  # fmt: skip
    return notebook


def text_output(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/markdown", ""))
    return "\n".join(parts)


def image_outputs(notebook: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


@pytest.fixture(scope="module")
def fixture_data(tmp_path_factory) -> list[str]:
    fashion = make_fashion_fixture(tmp_path_factory.mktemp("notebook_data") / "fashion")
    return [f"data.data_dir={fashion}", "data.system_dir=null", "data.download=false",
            "data.val_size=100", "data.batch_size=50"]  # fmt: skip


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_notebooks_are_stored_without_outputs(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name


def test_chapter_tour_runs_against_a_trained_lenet(fixture_data, tmp_path, monkeypatch):
    run_dir = tmp_path / "lenet_run"
    result = run_script(
        ["experiment=lenet", "trainer.max_epochs=1", "logger=none", "callbacks=default",
         *fixture_data, f"hydra.run.dir={run_dir}"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    monkeypatch.setenv("CONVLAB_RUN_DIR", str(run_dir))
    notebook = execute("chapter_tour.ipynb")
    out = text_output(notebook)
    assert "same as torch.nn.functional.conv2d" in out
    assert "learned kernel:" in out
    # LeNet's shapes, layer by layer (D2L §6.6).
    for shape in ["(1, 6, 28, 28)", "(1, 16, 5, 5)", "(1, 400)", "(1, 10)"]:
        assert f"output shape: {shape}" in out
    assert "accuracy on the first 200 test images:" in out
    assert image_outputs(notebook) >= 3  # edge figures and the predictions grid


def test_sweep_results_loads_a_sweep_through_the_report(fixture_data, tmp_path, monkeypatch):
    sweep_dir = tmp_path / "sweep"
    result = run_script(
        ["-m", "experiment=lenet_modern", "callbacks=default", "model.activation=sigmoid,relu",
         "seed=1,2", "trainer.max_epochs=2", "+trainer.limit_train_batches=2",
         "+trainer.limit_val_batches=1", "+trainer.limit_test_batches=1", *fixture_data,
         f"hydra.sweep.dir={sweep_dir}"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "sweep: 4 jobs" in log and "job 4/4:" in log  # the sweep's progress
    monkeypatch.setenv("CONVLAB_SWEEP_DIR", str(sweep_dir))
    notebook = execute("sweep_results.ipynb")
    out = text_output(notebook)
    assert "4 runs in 2 groups" in out
    assert "model.activation=sigmoid: 2 completed" in out
    assert "| model.activation | runs |" in out  # the report's table, one row per group
    assert (sweep_dir / "report" / "results.md").is_file()
    assert image_outputs(notebook) >= 3  # final metric, curves, the report's figures
