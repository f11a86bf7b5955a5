import numpy as np
import pytest
import torch

from posekit import metrics
from posekit.camera import quaternion_to_matrix


def _pose(seed=0, n=4):
    return np.random.default_rng(seed).normal(size=(n, 17, 3))


def test_mpjpe_hand_checked():
    gt = np.zeros((1, 2, 3))
    pred = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]])
    assert metrics.mpjpe(pred, gt) == pytest.approx(3.0)
    assert metrics.mpjpe(torch.as_tensor(pred), torch.as_tensor(gt)) == pytest.approx(3.0)


def test_p_mpjpe_is_invariant_to_similarity_transforms():
    gt = _pose()
    r = quaternion_to_matrix(np.array([0.9, 0.1, -0.3, 0.2]) / np.linalg.norm([0.9, 0.1, -0.3, 0.2]))
    pred = 2.5 * gt @ r.T + np.array([0.3, -1.0, 4.0])
    assert metrics.p_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-9)
    assert metrics.mpjpe(pred, gt) > 1.0
    noisy = gt + np.random.default_rng(3).normal(scale=0.05, size=gt.shape)
    assert metrics.p_mpjpe(noisy, gt) <= metrics.mpjpe(noisy, gt)


def test_p_mpjpe_does_not_reflect():
    gt = _pose(1)
    mirrored = gt * np.array([-1, 1, 1])
    assert metrics.p_mpjpe(mirrored, gt) > 0.1


def test_n_mpjpe_removes_scale_only():
    gt = _pose(2)
    assert metrics.n_mpjpe(1.7 * gt, gt) == pytest.approx(0.0, abs=1e-9)
    assert metrics.n_mpjpe(gt + 0.5, gt) > 0


def test_mpjve_of_a_constant_offset_is_zero():
    gt = np.cumsum(_pose(3, 10), axis=0)
    assert metrics.mpjve(gt + 0.2, gt) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="time axis"):
        metrics.mpjve(gt[:1], gt[:1])


def test_pck_and_auc_thresholds():
    gt = np.zeros((1, 4, 3))
    pred = np.zeros((1, 4, 3))
    pred[0, :, 0] = [0.0, 0.1, 0.149, 0.150]  # metres
    assert metrics.pck(pred, gt) == pytest.approx(75.0)  # strictly below 150 mm
    assert metrics.pck(pred * 1000, gt, unit="mm") == pytest.approx(75.0)
    assert metrics.pck(pred, gt, joints=[3]) == 0.0
    # AUC: joint errors 0, 100, 149, 150 mm -> fraction under each of 31 thresholds
    expected = np.mean([np.mean(np.array([0, 100, 149, 150]) < t) for t in range(0, 151, 5)]) * 100
    assert metrics.auc(pred, gt) == pytest.approx(expected)
    assert len(metrics.AUC_THRESHOLDS_MM) == 31


def test_per_action_pools_variants_and_averages_actions():
    table = metrics.per_action({"Walking": [1.0, 1.0], "Walking 1": [3.0, 3.0], "Eating": [10.0]})
    assert table["Walking"] == pytest.approx(2.0)
    assert table["Average"] == pytest.approx((2.0 + 10.0) / 2)
    table2 = metrics.per_action([("Walking", 1.0, 2), ("Walking 1", 3.0, 2)])
    assert table2["Walking"] == pytest.approx(2.0)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="differs from target shape"):
        metrics.mpjpe(np.zeros((2, 17, 3)), np.zeros((2, 16, 3)))
