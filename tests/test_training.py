"""The training pipeline: blur synthesis, loss, and a tiny resumable training run on real photographs."""

from pathlib import Path

import numpy as np
import pytest
import torch

from tools.training import blur
from tools.training.data import CropSampler, list_images, load_rgb, split_held_out
from tools.training.loop import TrainConfig, Trainer, multiscale_loss
from tools.weights_io import load_safetensors

FIXTURES = Path(__file__).parent / "fixtures"


def test_kernels_are_normalised_non_negative_and_fit_the_margin():
    rng = np.random.default_rng(0)
    for _ in range(100):
        kernel = blur.random_kernel(rng)
        assert kernel.min() >= 0
        assert kernel.sum() == pytest.approx(1.0, abs=1e-5)
        assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1
        assert kernel.shape[0] <= blur.MAX_KERNEL_SIZE


def test_kernels_are_centred_so_blur_does_not_shift_the_image():
    rng = np.random.default_rng(1)
    for _ in range(20):
        kernel = blur.random_kernel(rng)
        centre = (kernel.shape[0] - 1) / 2
        ys, xs = np.mgrid[: kernel.shape[0], : kernel.shape[1]]
        assert abs((kernel * ys).sum() - centre) < 0.75
        assert abs((kernel * xs).sum() - centre) < 0.75


def test_srgb_round_trip():
    values = np.linspace(0, 1, 101)
    assert np.allclose(blur.linear_to_srgb(blur.srgb_to_linear(values)), values, atol=1e-6)


def test_degradation_is_reproducible_and_really_blurs():
    photo = load_rgb(FIXTURES / "sharp" / "crop_kodim05.png")
    sampler = CropSampler([photo], crop=64)
    first = sampler.batch(np.random.default_rng([3, 0]), 4)
    again = sampler.batch(np.random.default_rng([3, 0]), 4)
    other = sampler.batch(np.random.default_rng([3, 1]), 4)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])
    blurry, sharp = first
    assert blurry.shape == sharp.shape == (4, 3, 64, 64)
    # Blur removes high frequencies: the blurry crops have less gradient energy than their targets.
    def energy(a):
        return float(np.abs(np.diff(a, axis=-1)).mean())
    assert energy(blurry) < energy(sharp)


def test_held_out_prefixes_are_excluded_from_training(tmp_path):
    for name in ("bsds500-test_1.jpg", "kodak24_kodim01.png", "bsds500-train_2.jpg", "urban100_img_001.png"):
        (tmp_path / name).touch()
    training, held_out = split_held_out(list_images([tmp_path]))
    assert [p.name for p in training] == ["bsds500-train_2.jpg", "urban100_img_001.png"]
    assert {p.name for p in held_out} == {"bsds500-test_1.jpg", "kodak24_kodim01.png"}


def test_loss_is_zero_for_a_perfect_prediction_and_positive_otherwise():
    sharp = torch.rand(2, 3, 32, 32)
    perfect = [torch.nn.functional.interpolate(sharp, scale_factor=s, mode="bilinear") for s in (0.25, 0.5)] + [sharp]
    assert float(multiscale_loss(perfect, sharp, 0.1)) == pytest.approx(0.0, abs=1e-6)
    assert float(multiscale_loss([p + 0.1 for p in perfect], sharp, 0.1)) > 0.1


def test_tiny_training_run_writes_weights_and_resumes(tmp_path):
    out = tmp_path / "tiny.safetensors"
    config = TrainConfig(num_res=1, width=8, crop=32, batch=2, total_iterations=6, validation_crops=2,
                         validate_every=3, checkpoint_every=3)
    trainer = Trainer([FIXTURES / "sharp"], out, config, resume=False)
    assert trainer.train(minutes=5, until=4).iteration == 4  # a chunk that stops at a chosen iteration
    first = trainer.train(minutes=5)
    assert first.iteration == 6
    tensors, metadata = load_safetensors(out)
    assert metadata["format"] == "cnaps-mimo-unet"
    assert int(metadata["num_res"]) == 1 and int(metadata["width"]) == 8
    assert "Encoder.0.layers.0.main.0.main.0.weight" in tensors
    assert (tmp_path / "tiny.safetensors.state.pt").exists()

    config.total_iterations = 8
    resumed = Trainer([FIXTURES / "sharp"], out, config, resume=True)
    assert resumed.iteration == first.iteration
    assert resumed.train(minutes=5).iteration == 8


def test_init_starts_from_saved_weights(tmp_path):
    config = TrainConfig(num_res=1, width=8, crop=32, batch=2, total_iterations=2, validation_crops=2,
                         validate_every=10, checkpoint_every=10)
    first = Trainer([FIXTURES / "sharp"], tmp_path / "a.safetensors", config, resume=False)
    first.train(minutes=5)
    saved, _ = load_safetensors(tmp_path / "a.safetensors")
    started = Trainer([FIXTURES / "sharp"], tmp_path / "b.safetensors", config, resume=False,
                      init=tmp_path / "a.safetensors")
    assert started.iteration == 0
    assert started.metadata()["initialised_from"] == "a.safetensors"
    assert started.metadata()["iterations_before"] == 2
    for key, value in started.network.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_init_from_a_shallower_network_deepens_it_without_changing_its_output(tmp_path):
    shallow = TrainConfig(num_res=1, width=8, crop=32, batch=2, total_iterations=3, validation_crops=2,
                          validate_every=10, checkpoint_every=10)
    Trainer([FIXTURES / "sharp"], tmp_path / "a.safetensors", shallow, resume=False).train(minutes=5)
    deep = TrainConfig(num_res=3, width=8, crop=32, batch=2, total_iterations=2, validation_crops=2,
                       validate_every=10, checkpoint_every=10)
    grown = Trainer([FIXTURES / "sharp"], tmp_path / "b.safetensors", deep, resume=False,
                    init=tmp_path / "a.safetensors")
    assert grown.metadata()["deepened_from_num_res"] == 1
    before = Trainer([FIXTURES / "sharp"], tmp_path / "c.safetensors", shallow, resume=False,
                     init=tmp_path / "a.safetensors").network.eval()
    image = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        for old, new in zip(before(image), grown.network.eval()(image)):
            torch.testing.assert_close(new, old, rtol=0, atol=1e-5)
    # The added blocks are not frozen: one training step moves their zeroed convolutions.
    grown.network.train()
    grown.train(minutes=5)
    assert grown.network.state_dict()["Encoder.0.layers.2.main.1.main.0.weight"].abs().sum() > 0

    wider = TrainConfig(num_res=1, width=12, crop=32, batch=2, total_iterations=2, validation_crops=2)
    with pytest.raises(ValueError, match="width 12"):
        Trainer([FIXTURES / "sharp"], tmp_path / "d.safetensors", wider, resume=False, init=tmp_path / "a.safetensors")


@pytest.mark.skipif(not torch.ops.mkldnn._is_mkldnn_bf16_supported(), reason="CPU without AVX512-BF16 or AMX")
def test_bf16_training_learns_like_fp32_and_keeps_fp32_weights(tmp_path):
    finals = {}
    for precision in ("bf16", "fp32"):
        config = TrainConfig(num_res=1, width=8, crop=32, batch=4, total_iterations=40, validation_crops=4,
                             validate_every=40, checkpoint_every=40, learning_rate=2e-3, precision=precision)
        trainer = Trainer([FIXTURES / "sharp"], tmp_path / f"{precision}.safetensors", config, resume=False)
        _, untrained = trainer.validate()
        finals[precision] = trainer.train(minutes=5).validation_output_psnr
        assert all(p.dtype == torch.float32 for p in trainer.network.parameters())
        # Validation runs in fp32: the seeded random start (about 17 dB, it adds noise) has learned (about 21 dB).
        assert finals[precision] > untrained + 2
    assert finals["bf16"] == pytest.approx(finals["fp32"], abs=0.3)


def test_unknown_precision_is_refused(tmp_path):
    with pytest.raises(ValueError, match="precision"):
        Trainer([FIXTURES / "sharp"], tmp_path / "x.safetensors", TrainConfig(precision="fp8"), resume=False)
