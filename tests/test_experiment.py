"""posekit.experiment: the one decision rule on constructed numbers, the tables, and one arm end to end."""
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from posekit import experiment
from posekit.experiment import compare, md_table, mean_std, pm, run_arm
from posekit.profiles import get_profile


def test_a_clear_paired_difference_is_decided_with_the_t_interval():
    mixste = [117.0, 119.0, 114.0]
    ktp = [113.0, 116.0, 110.5]                       # 4.0, 3.0, 3.5 mm lower, seed by seed
    v = compare(ktp, mixste, ("KTPFormer", "MixSTE"))
    d = np.array(ktp) - np.array(mixste)
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    assert v.diff == pytest.approx(-3.5)
    assert (v.low, v.high) == pytest.approx((-3.5 - half, -3.5 + half))
    assert v.decided and v.better == "KTPFormer"
    assert "KTPFormer is better than MixSTE" in v.text and "paired over 3 seeds" in v.text


def test_pairing_resolves_what_the_spread_between_seeds_hides():
    base = np.array([100.0, 120.0, 140.0, 110.0])      # seeds differ a lot, the arms by 1 mm each time
    a, b = base - 1.0 + np.array([0.1, -0.1, 0.05, -0.05]), base
    assert compare(a, b).decided
    assert not compare(a, b, paired=False).decided


def test_a_null_difference_is_not_decided_and_says_what_it_can_resolve():
    rng = np.random.default_rng(0)
    a = 100 + rng.normal(0, 2, 5)
    b = a + rng.normal(0, 2, 5) * np.array([1, -1, 1, -1, 1])
    v = compare(a, b, ("HoT", "MixSTE"))
    assert v.low < 0 < v.high and not v.decided and v.better is None
    assert "cannot be told apart" in v.text and f"{v.resolution:.1f}" in v.text


def test_unequal_variances_use_welch_degrees_of_freedom():
    a = [10.0, 10.2, 9.8, 10.1, 9.9]
    b = [14.0, 4.0, 12.0, 6.0, 9.0, 13.0]
    v = compare(a, b, paired=False)
    welch = stats.ttest_ind(a, b, equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert (v.low, v.high) == pytest.approx((ci.low, ci.high))
    pooled = stats.ttest_ind(a, b, equal_var=True).confidence_interval(0.95)
    assert v.high - v.low != pytest.approx(pooled.high - pooled.low)


def test_higher_is_better_metrics_and_single_seeds():
    v = compare([90.0, 91.0, 92.0], [80.0, 80.5, 81.5], ("A", "B"), metric="PCK", unit="%", lower_is_better=False)
    assert v.better == "A"
    one = compare([1.0], [2.0])
    assert math.isnan(one.low) and not one.decided and "no verdict" in one.text


def test_compare_refuses_bad_input():
    with pytest.raises(ValueError, match="paired"):
        compare([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="non-finite"):
        compare([1, float("nan")], [1, 2])
    with pytest.raises(ValueError, match="non-empty"):
        compare([], [1.0])


def test_mean_std_pm_and_md_table():
    assert mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    assert math.isnan(mean_std([4.0])[1])
    assert pm([1.0, 2.0, 3.0]) == "2.0 ± 1.0" and pm([4.0]) == "4.0"
    t = md_table(["arm", "MPJPE"], [["MixSTE", "117.6"], ["a|b", 3]])
    assert t.splitlines() == ["| arm | MPJPE |", "| --- | --- |", "| MixSTE | 117.6 |", "| a\\|b | 3 |"]
    assert t._repr_markdown_() == str(t)
    with pytest.raises(ValueError, match="cells"):
        md_table(["a", "b"], [["only one"]])


def test_run_arm_is_one_seeded_call_and_repeats_exactly(tiny_synth):
    budget = get_profile("smoke").with_(epochs=1, max_train_windows=64, batch_size=16)
    test = tiny_synth.test.subsample_sequences(20)
    a = run_arm("tcn", tiny_synth.train, test, budget, seed=3, device="cpu", cache=False)
    b = run_arm("tcn", tiny_synth.train, test, budget, seed=3, device="cpu", cache=False)
    assert isinstance(a, experiment.Arm) and a.name == "tcn" and a.seed == 3 and a.params > 0
    assert a.result.mpjpe == b.result.mpjpe and len(a.history.records) == 1
    with pytest.raises(ValueError, match="builder"):
        run_arm(lambda: None, tiny_synth.train, test, budget, frames=27)


def test_the_run_cache_returns_the_same_arm_and_retrains_on_request(tiny_synth, tmp_path, monkeypatch):
    monkeypatch.setenv("POSEKIT_CACHE", str(tmp_path))
    budget = get_profile("smoke").with_(epochs=1, max_train_windows=64, batch_size=16)
    test = tiny_synth.test.subsample_sequences(20)
    first = run_arm("tcn", tiny_synth.train, test, budget, seed=3, device="cpu")
    again = run_arm("tcn", tiny_synth.train, test, budget, seed=3, device="cpu")
    assert not first.cached and again.cached and len(list((tmp_path / "runs").iterdir())) == 1
    assert again.result.mpjpe == first.result.mpjpe and again.history.records == first.history.records
    assert again.train_seconds == first.train_seconds
    for name, value in first.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[name]), name
    for name, pred in first.result.predictions.items():
        np.testing.assert_array_equal(pred, again.result.predictions[name])
    assert "from the run cache" in repr(again)
    fresh = run_arm("tcn", tiny_synth.train, test, budget, seed=3, device="cpu", retrain=True)
    assert not fresh.cached and fresh.result.mpjpe == first.result.mpjpe   # same seed, same numbers
    monkeypatch.setenv("POSEKIT_RETRAIN", "1")
    assert not run_arm("tcn", tiny_synth.train, test, budget, seed=3, device="cpu").cached
    monkeypatch.delenv("POSEKIT_RETRAIN")
    other_seed = run_arm("tcn", tiny_synth.train, test, budget, seed=4, device="cpu")
    other_data = run_arm("tcn", tiny_synth.train, test.subsample_sequences(2), budget, seed=3, device="cpu")
    assert not other_seed.cached and not other_data.cached
    assert len(list((tmp_path / "runs").iterdir())) == 3


def test_the_run_cache_trains_what_it_cannot_identify_and_survives_a_broken_entry(tiny_synth, tmp_path, monkeypatch):
    from posekit import runcache
    from posekit.models import build_model
    monkeypatch.setenv("POSEKIT_CACHE", str(tmp_path))
    budget = get_profile("smoke").with_(epochs=1, max_train_windows=32, batch_size=16)
    test = tiny_synth.test.subsample_sequences(40)
    local_builder = lambda: build_model("mlp", "smoke")  # noqa: E731  (a notebook's own function: no stable identity)
    assert not run_arm(local_builder, tiny_synth.train, test, budget, device="cpu").cached
    assert not run_arm(local_builder, tiny_synth.train, test, budget, device="cpu").cached
    assert not (tmp_path / "runs").exists()
    run_arm("mlp", tiny_synth.train, test, budget, device="cpu")
    (entry,) = (tmp_path / "runs").iterdir()
    (entry / "arm.pt").write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="unreadable"):
        assert not run_arm("mlp", tiny_synth.train, test, budget, device="cpu").cached
    assert run_arm("mlp", tiny_synth.train, test, budget, device="cpu").cached
    assert runcache.fingerprint(tiny_synth.train) == runcache.fingerprint(tiny_synth.train.subsample_sequences(1))
    assert runcache.fingerprint(tiny_synth.train) != runcache.fingerprint(tiny_synth.train.subsample_sequences(2))
    moved = dataclasses.replace(tiny_synth.train, info={**tiny_synth.train.info, "root": "/elsewhere"})
    assert runcache.fingerprint(moved) == runcache.fingerprint(tiny_synth.train)   # a copied cache still serves


def test_the_code_version_covers_the_core_and_the_arms_own_method_package_only():
    from posekit import runcache
    from posekit.models import trainer_for
    uao_evaluate = trainer_for("uao").evaluate
    root = Path(runcache.__file__).parent
    names = lambda packages: {p.relative_to(root).as_posix() for p in runcache.source_files(packages)}  # noqa: E731
    core = names(frozenset())
    assert {"train.py", "experiment.py", "nn/mixste.py", "data/__init__.py"} <= core
    assert not [n for n in core if n.startswith(("methods/hot/", "methods/dsr/", "video/", "viz/"))]
    assert "leaderboard.py" not in core and "methods/__init__.py" in core
    assert any(n.startswith("methods/hot/") for n in names(frozenset({"hot"})))
    assert runcache.method_packages({"method": "mixste"}) == frozenset()
    assert runcache.method_packages({"method": "hot", "evaluate": uao_evaluate}) == {"hot", "uao"}
    assert runcache.code_version(frozenset()) != runcache.code_version(frozenset({"hot"}))


def test_run_standard_is_one_shared_definition(tiny_synth, tmp_path, monkeypatch):
    monkeypatch.setenv("POSEKIT_CACHE", str(tmp_path))
    budget = get_profile("smoke").with_(epochs=2, max_train_windows=32, batch_size=16)
    test = tiny_synth.test.subsample_sequences(10)
    arm = experiment.run_standard("mlp", tiny_synth.train, test, budget, seed=1, device="cpu")
    assert [r["epoch"] for r in arm.history.records if "val_mpjpe" in r] == [1, 2]    # the curve: every epoch here
    same = run_arm("mlp", tiny_synth.train, test, budget, 1, val=experiment.curve_set(test), device="cpu",
                   eval_every=experiment.curve_every(budget), config="smoke")
    assert same.cached and same.result.mpjpe == arm.result.mpjpe
    cpu = get_profile("cpu")
    assert experiment.standard_budget(budget) is budget
    assert (experiment.standard_budget(cpu).epochs, experiment.standard_budget(cpu).max_train_windows) == (6, 640)
    assert experiment.standard_budget(cpu).lr_decay ** 6 == pytest.approx(cpu.lr_decay ** cpu.epochs)
    assert experiment.standard_budget(cpu.with_(epochs=2)).epochs == 2          # your own budget is used as given


def test_record_writes_rounded_key_numbers_where_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("POSEKIT_RECORD_DIR", str(tmp_path))
    out = experiment.record("04_hot", "smoke", {"HoT": 131.2345, "MixSTE": np.float32(114.8)})
    assert out == {"HoT": 131.23, "MixSTE": 114.8}
    import json
    assert json.loads((tmp_path / "04_hot.smoke.json").read_text()) == out
    with pytest.raises(ValueError, match="finite"):
        experiment.record("04_hot", "smoke", {"HoT": float("nan")})
