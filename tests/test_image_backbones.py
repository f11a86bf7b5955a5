"""Image backbones: the papers' parameter counts, output shapes, and the small CNN learns."""
import pytest
import torch

from posekit.nn.backbones import HRNetGlobalHead, HRNetW48, ResNet50, SmallImageCNN


def _count(m):
    return sum(p.numel() for p in m.parameters())


def test_paper_parameter_counts():
    with torch.device("meta"):
        assert _count(ResNet50()) == 23_508_032  # torchvision resnet50 without fc
        assert _count(HRNetW48()) == 65_325_120
        assert _count(HRNetGlobalHead()) == 10_095_744
        assert _count(HRNetW48()) + _count(HRNetGlobalHead()) == 75_420_864


@pytest.mark.slow
def test_output_shapes():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert ResNet50().eval()(x).shape == (1, 2048, 2, 2)
        net, head = HRNetW48().eval(), HRNetGlobalHead().eval()
        f, xs = net.features(x)
        assert f.shape == (1, 256, 16, 16)
        assert [t.shape[1:] for t in xs] == [(48, 16, 16), (96, 8, 8), (192, 4, 4), (384, 2, 2)]
        assert head(xs).shape == (1, 2048)


def test_small_cnn_fits_a_batch():
    torch.manual_seed(0)
    net = SmallImageCNN(widths=(8, 16, 32), extra_channels=2)
    assert net.stride == 8 and net.out_channels == 32
    x, y = torch.randn(8, 5, 16, 16), torch.randn(8, 32)
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    losses = []
    for _ in range(20):
        loss = (net(x).mean((-2, -1)) - y).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert net(x).shape == (8, 32, 2, 2) and losses[-1] < 0.5 * losses[0]
