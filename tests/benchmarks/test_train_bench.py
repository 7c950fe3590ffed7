"""Smoke test of benchmarks/train.py: a tiny configuration, results written to a tmp dir."""


import pytest
from bench_helpers import load as load_script


def load():
    return load_script("train")


def test_train_smoke(tmp_path):
    train = load()
    doc = train.main(["--quick", "--out", str(tmp_path), "--parts", "gradients,blobs,entanglement", "--grad-n", "16",
                      "--grad-batch", "8", "--size", "8", "--n-train", "200", "--n-test", "100", "--iterations", "20",
                      "--eval-every", "10"])
    grads = {(r["domain"], r["method"]): r for r in doc["gradients"]}
    assert grads[("linear", "tree executor gradient")]["ratio_vs_forward"] > 0
    assert len(doc["blobs"]) == 6 and all(0 <= r["test_accuracy"] <= 1 for r in doc["blobs"])
    assert all(len(curve) == 2 for curve in doc["blob_curves"].values())  # iterations 10 and 20
    for row in doc["entanglement"]:  # a trained rank never exceeds its min-cut bound
        if row["trained_rank"] is not None:
            assert row["trained_rank"] <= 2 ** row["log2_bound"] + 1e-9
    assert (tmp_path / "train.json").exists() and (tmp_path / "train.md").exists()


def test_train_help_starts_no_run(capsys):
    with pytest.raises(SystemExit):
        load().main(["--help"])
    assert "--quick" in capsys.readouterr().out
