"""The model and its parts: every config option builds and trains a step; LeCun 1998 details."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from lenet_ablate import compose, config_dir
from lenet_ablate.config import validate
from lenet_ablate.model.heads import RBFHead
from lenet_ablate.model.layers import MaskedConv2d, ScaledTanh, Subsampling
from lenet_ablate.data.images import DataShape
from lenet_ablate.model.network import LeNet5, build_model, parameter_table
from lenet_ablate.training.module import LeNetModule
from lenet_ablate.options import build
from lenet_ablate.model.templates import digit_codebook, hadamard_codebook, min_hamming_distance, random_codebook

GROUPS = {name.name: sorted(p.stem for p in name.glob("*.yaml"))
          for name in Path(config_dir()).iterdir() if name.is_dir() and name.name not in ("experiment", "variant")}


def composed(*overrides: str):
    return validate(compose(*overrides))


def model(*overrides: str) -> LeNet5:
    return build_model(composed(*overrides))


def test_groups_are_the_documented_ones():
    assert GROUPS["activation"] == ["relu", "scaled_tanh", "sigmoid", "tanh"]
    assert GROUPS["pooling"] == ["avg", "max", "subsample"]
    assert GROUPS["optimizer"] == ["adam", "rmsprop", "sgd"]
    assert GROUPS["dropout"] == ["none", "p0.5"]
    assert GROUPS["normalization"] == ["batch", "none"]
    assert GROUPS["init"] == ["default", "kaiming", "lecun"]
    assert set(GROUPS) >= {"data", "activation", "pooling", "dropout", "optimizer", "augmentation", "head", "trainer",
                           "normalization", "init"}


@pytest.mark.parametrize("group,option", [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_every_option_composes_and_trains_a_step(group, option):
    needs = {"folder": ["data.root=/nowhere"], "torchvision": ["data.dataset=KMNIST"]}  # (not read here)
    cfg = composed(f"{group}={option}", *(needs.get(option, []) if group == "data" else []))
    torch.manual_seed(0)
    size = 32 if cfg.data.input == "lecun32" else 28
    model = build_model(cfg, DataShape(1, 10, size))  # (data=folder / torchvision would read their data)
    x, y = torch.randn(8, 1, size, size), torch.arange(8) % 10
    scores = model(x)
    assert scores.shape == (8, 10)
    loss = model.loss(scores, y)
    assert torch.isfinite(loss)
    opt, _ = build(cfg.optimizer, model.parameters())
    before = [p.detach().clone() for p in model.parameters()]
    loss.backward()
    opt.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters())), "no parameter moved"


def test_modern_lenet_layer_shapes_and_parameters():
    net = model()
    table = parameter_table(net)
    # 1*6*25+6, 6*16*25+16, 400*120+120, 120*84+84, 84*10+10
    assert table == {"C1": 156, "S2": 0, "C3": 2416, "S4": 0, "C5": 48120, "F6": 10164, "output": 850,
                     "total": 61706}
    assert net.features(torch.zeros(2, 1, 28, 28)).shape == (2, 400)


def test_dropout_is_after_the_two_hidden_linear_layers():
    net = model("dropout=p0.5", "dropout.p=0.3")
    drops = [name for name, m in net.named_modules() if isinstance(m, torch.nn.Dropout)]
    assert drops == ["classifier.C5_drop", "classifier.F6_drop"]
    assert net.classifier.C5_drop.p == 0.3


def test_scaled_tanh_maps_one_to_one():
    f = ScaledTanh()
    assert f(torch.tensor([1.0, -1.0])).tolist() == pytest.approx([1.0, -1.0], abs=1e-4)
    assert f(torch.tensor(0.5)).item() == pytest.approx(1.7159 * math.tanh(1 / 3))


def test_lecun1998_preset_has_the_papers_parameter_counts():
    cfg = composed("model=lecun1998")
    assert (cfg.activation.name, cfg.pooling.name, cfg.head.name, cfg.data.input) == \
        ("scaled_tanh", "subsample", "rbf", "lecun32")
    table = parameter_table(build_model(cfg))
    assert table == {"C1": 156, "S2": 12, "C3": 1516, "S4": 32, "C5": 48120, "F6": 10164, "output": 0,
                     "total": 60000}


def test_c3_mask_stays_zero_through_training():
    conv = MaskedConv2d(6, 16, 5, mask=model("model.c3=lecun").features.C3.mask.view(16, 6))
    assert int(conv.mask.sum()) == 60
    opt = torch.optim.Adam(conv.parameters(), lr=0.1, weight_decay=0.01)
    for _ in range(3):
        conv(torch.randn(4, 6, 14, 14)).pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
    unconnected = conv.weight[(conv.mask.expand_as(conv.weight) == 0)]
    assert unconnected.abs().max().item() == 0.0
    assert conv.weight[(conv.mask.expand_as(conv.weight) == 1)].abs().min().item() > 0


def test_subsampling_has_two_parameters_per_channel_and_mixes_no_channels():
    layer = Subsampling()
    layer(torch.zeros(1, 6, 4, 4))  # sizes itself from its first input
    assert sum(p.numel() for p in layer.parameters()) == 12
    with torch.no_grad():
        layer.weight.copy_(torch.arange(1.0, 7.0))
        layer.bias.fill_(0.5)
    x = torch.zeros(1, 6, 4, 4)
    x[0, 2] = 1.0  # only channel 2 has input
    out = layer(x)
    assert out.shape == (1, 6, 2, 2)
    assert torch.allclose(out[0, 2], torch.full((2, 2), 4.0 * 3 + 0.5))  # sum of 4 ones x coef 3 + bias
    others = torch.cat([out[0, :2], out[0, 3:]])
    assert torch.allclose(others, torch.full_like(others, 0.5))


def test_rbf_map_loss_equals_the_papers_formula_and_stays_finite():
    head = RBFHead(84, 10, templates="hadamard", j=0.5, templates_seed=0)
    x = torch.randn(5, 84) * 0.1
    y = torch.tensor([0, 3, 5, 7, 9])
    scores = head(x)
    dist = ((x[:, None, :] - head.templates[None]) ** 2).sum(-1)
    assert torch.allclose(-scores, dist, atol=1e-4)
    direct = (dist[torch.arange(5), y] + torch.log(math.exp(-0.5) + torch.exp(-dist).sum(1))).mean()
    assert head.loss(scores, y).item() == pytest.approx(direct.item(), rel=1e-5)
    huge = head(torch.full((2, 84), 40.0))  # distances ~ 130,000: exp(-y) underflows
    assert torch.isfinite(head.loss(huge, torch.tensor([1, 2])))
    assert (head(head.templates).argmax(1) == torch.arange(10)).all()


def test_codebooks_shapes_and_distances():
    digits, hadamard = digit_codebook(), hadamard_codebook()
    assert digits.shape == hadamard.shape == (10, 84)
    assert set(digits.unique().tolist()) == {-1.0, 1.0}
    assert min_hamming_distance(digits) == 12
    pairwise = (hadamard[:, None] != hadamard[None]).sum(-1)
    assert (pairwise + 42 * torch.eye(10, dtype=torch.long) == 42).all()
    assert torch.equal(random_codebook(seed=3), random_codebook(seed=3))
    # The paper's bitmap of 1 (rows 0-1 read "...##.." / "..###..").
    assert digits[1, :14].tolist() == [-1, -1, -1, 1, 1, -1, -1, -1, -1, 1, 1, 1, -1, -1]


def test_module_schedule_cosine_reaches_zero():
    from lenet_ablate.training.optim import SCHEDULES
    assert SCHEDULES.get("cosine")(0, 10, 3) == 1.0
    assert SCHEDULES.get("cosine")(30, 10, 3) == pytest.approx(0.0)
    assert [SCHEDULES.get("lecun1998")(e * 10, 10, 20) for e in (0, 2, 5, 8, 12)] == [1.0, 0.4, 0.2, 0.1, 0.02]
    assert isinstance(LeNetModule(model(), {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0,
                                            "schedule": "none"}, 1, 10).model, LeNet5)


def test_max_pooling_before_relu_changes_nothing():
    torch.manual_seed(0)
    net = model("activation=relu", "pooling=max")
    f = net.features
    assert list(f._modules)[:6] == ["C1", "S2", "C1_act", "C3", "S4", "C3_act"]
    modern = torch.nn.Sequential(f.C1, f.C1_act, f.S2, f.C3, f.C3_act, f.S4, f.flatten)  # same weights
    x = torch.randn(16, 1, 28, 28) * 3
    x[:, :, :10] = -0.8  # a uniform background: tied window values
    outputs, grads = [], []
    for features in (f, modern):
        net.zero_grad()
        out = net.head(net.classifier(features(x)))
        out.square().sum().backward()
        outputs.append(out.detach())
        grads.append([p.grad.clone() for p in net.parameters()])
    assert torch.equal(*outputs)
    assert all(torch.equal(a, b) for a, b in zip(*grads))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "scaled_tanh"])
def test_other_activations_keep_the_modern_order(activation):
    assert list(model(f"activation={activation}", "pooling=max").features._modules)[:3] == ["C1", "C1_act", "S2"]


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_fused_and_foreach_optimizers_take_the_same_step(name):
    # foreach is the default (bit-identical to PyTorch's per-parameter loop); fused rounds differently.
    results = []
    for fused in (False, True):
        cfg = composed(f"optimizer={name}", f"optimizer.fused={fused}", "optimizer.weight_decay=5e-4")
        torch.manual_seed(0)
        net = build_model(cfg)
        start = torch.cat([p.detach().flatten() for p in net.parameters()])
        opt, _ = build(cfg.optimizer, net.parameters())
        for _ in range(3):
            opt.zero_grad()
            net.loss(net(torch.randn(8, 1, 28, 28)), torch.arange(8)).backward()
            opt.step()
        results.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    assert (results[0] - start).abs().max() > 1e-3  # it did train
    torch.testing.assert_close(results[0], results[1], rtol=1e-4, atol=1e-5)


def test_batch_normalization_sits_after_c1_c3_c5_f6_before_the_activation():
    net = model("normalization=batch", "activation=tanh")
    assert list(net.features._modules)[:4] == ["C1", "C1_norm", "C1_act", "S2"]
    assert list(net.classifier._modules)[:3] == ["C5", "C5_norm", "C5_act"]
    norms = {n: m.num_features for n, m in net.named_modules() if n.endswith("_norm")}
    assert norms == {"features.C1_norm": 6, "features.C3_norm": 16, "classifier.C5_norm": 120,
                     "classifier.F6_norm": 84}
    table = parameter_table(net)  # each norm adds 2 parameters per channel to its layer
    assert table["C1"] == 156 + 12 and table["C5"] == 48120 + 240 and table["total"] == 61706 + 2 * 226
    assert "_norm" not in "".join(model().features._modules)  # none: no layers at all


def test_init_options():
    kaiming, default, lecun = (model(f"init={i}") for i in ("kaiming", "default", "lecun"))
    assert kaiming.features.C1.bias.abs().max() == 0  # He-normal: zero biases
    assert default.features.C1.bias.abs().max() > 0  # PyTorch's: uniform biases
    bound = 2.4 / 400  # C5's fan-in is 400
    assert lecun.classifier.C5.weight.abs().max() <= bound and lecun.classifier.C5.weight.abs().max() > 0.9 * bound
    # He-normal: std = sqrt(2 / fan_in); 48,000 draws pin it within a few percent.
    assert kaiming.classifier.C5.weight.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.03)


def test_one_way_from_config_to_object():
    """Option nodes go through Hydra's instantiate (the caller adds its keyword arguments); string
    choices through one registry, which also takes the dotted path of one's own."""
    from lenet_ablate.errors import ConfigError
    from lenet_ablate.registry import Registry
    from lenet_ablate.training.optim import SCHEDULES

    assert isinstance(build({"name": "gelu", "_target_": "torch.nn.GELU"}), torch.nn.GELU)  # no code needed
    assert build({"name": "none"}) is None
    head = build({"name": "softmax", "_target_": "lenet_ablate.model.heads.SoftmaxHead"}, in_features=84, num_classes=7)
    assert head.linear.weight.shape == (7, 84)
    with pytest.raises(ConfigError, match="parameter 'name' clashes with the option's label"):
        build({"name": "x", "_target_": "logging.getLogger"})  # getLogger(name=...)
    assert SCHEDULES.get("math.cos") is math.cos
    registry = Registry("model.c3", {"full": 1, "lecun": 2})
    assert registry.get("lecun") == 2 and list(registry) == ["full", "lecun"]
    with pytest.raises(ConfigError, match=r"model.c3='sparse' is not allowed; allowed: full, lecun"):
        registry.get("sparse")
    with pytest.raises(ConfigError, match="allowed: full, lecun"):
        registry.get("no.such.module")


def test_squash_is_an_argument_of_the_subsampling_not_a_dropped_key():
    net = model("pooling=subsample", "activation=relu")
    s2 = net.features.S2
    assert isinstance(s2, Subsampling) and isinstance(s2.squash, ScaledTanh)
    assert s2.weight.shape == (6,) and net.features.S4.weight.shape == (16,)
    assert not isinstance(model("pooling=avg").features.S2, Subsampling)
