import numpy as np
import pytest
import torch

from posekit.data.samplers import ClipBank, chunk_starts, edge_index, eval_chunk_starts
from posekit.skeleton import H36M_17


def eval_chunk_starts_are_centred_and_cover_the_sequence():
    s = chunk_starts(100, 27, 27)
    assert len(s) == 4 and (np.diff(s) == 27).all()
    assert s[0] <= 0 and s[-1] + 27 >= 100
    assert -s[0] == (4 * 27 - 100) // 2  # centred: the padding is split over both ends
    assert chunk_starts(10, 27, 27).tolist() == [-8]


def test_edge_padding_repeats_the_first_and_last_frames():
    idx = edge_index(np.array([-3, 8]), 5, np.array([10, 10]))
    assert idx.tolist() == [[0, 0, 0, 0, 1], [8, 9, 9, 9, 9]]


def test_test_chunks_predict_every_frame_once():
    starts = eval_chunk_starts(100, 27)
    frames = edge_index(starts, 27, np.full(len(starts), 100)).ravel()[:100]
    assert frames.tolist() == list(range(100))


def test_sequence_and_center_windows(tiny_synth):
    train = tiny_synth.train
    seq_bank = ClipBank(train, 27, "sequence")
    x, y = seq_bank.gather(np.arange(3))
    assert x.shape == (3, 27, 17, 2) and y.shape == (3, 27, 17, 3) and x.dtype == torch.float32
    ctr = ClipBank(train, 9, "center", stride=10)
    assert len(ctr) == sum(len(range(0, s.num_frames, 10)) for s in train)
    x, y = ctr.gather(np.array([0]))
    s0 = train[0]
    assert torch.allclose(y[0, 0], torch.from_numpy(s0.poses_3d[0]))
    assert torch.allclose(x[0, 4], torch.from_numpy(s0.keypoints_2d[0]))  # centre frame
    assert torch.allclose(x[0, 0], x[0, 4])  # edge padding before the first frame


def test_flip_augmentation_mirrors_inputs_and_targets(tiny_synth):
    bank = ClipBank(tiny_synth.train, 27, "sequence")
    x, y = bank.gather(np.array([5]))
    xf, yf = bank.gather(np.array([5]), flip=np.array([True]))
    assert torch.allclose(xf[0, :, 4, 0], -x[0, :, 1, 0])
    assert torch.allclose(yf[0, :, 16], y[0, :, 13] * torch.tensor([-1.0, 1, 1]))


def test_batches_cover_an_epoch_and_shards_partition_it(tiny_synth):
    bank = ClipBank(tiny_synth.train, 27, "sequence")
    rng = np.random.default_rng(0)
    n = sum(len(x) for x, _ in bank.batches(16, rng))
    assert n == len(bank)
    shards = [[x for x, _ in bank.batches(16, np.random.default_rng(0), max_windows=41, shard=(r, 2))] for r in (0, 1)]
    assert [sum(len(x) for x in s) for s in shards] == [20, 20]  # the odd window is dropped: equal step counts
    assert len(shards[0]) == len(shards[1]) == bank.num_batches(16, max_windows=41, world=2) == 2
    assert bank.num_batches(16, max_windows=40) == 3


def test_bad_arguments_are_clear(tiny_synth):
    with pytest.raises(ValueError, match="mode"):
        ClipBank(tiny_synth, 27, "frames")
    with pytest.raises(ValueError, match="no sequences"):
        ClipBank(tiny_synth.select(subjects=[]), 27)


def test_batches_gathered_at_once_equal_batch_by_batch_gathering(tiny_synth, monkeypatch):
    bank = ClipBank(tiny_synth.train, 9)
    monkeypatch.setattr(ClipBank, "GATHER_WINDOWS", 16)  # several gathered chunks, the last one partial
    got = list(bank.batches(5, np.random.default_rng(3), flip=True))
    rng = np.random.default_rng(3)
    order = rng.permutation(len(bank))
    flips = rng.random(len(order)) < 0.5
    assert flips.any() and len(got) == bank.num_batches(5)
    for i, (x, y) in enumerate(got):
        xe, ye = bank.gather(order[5 * i:5 * i + 5], flips[5 * i:5 * i + 5])
        assert torch.equal(x, xe) and torch.equal(y, ye)
