"""Realistic degradations (tools/training/realistic.py) and the trainer's handling of bad training data."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools.training import realistic
from tools.training.data import CropSampler, TrainingDataError, load_rgb
from tools.training.loop import TrainConfig, Trainer

FIXTURES = Path(__file__).parent / "fixtures"


def _photo() -> np.ndarray:
    return load_rgb(FIXTURES / "sharp" / "crop_kodim05.png").astype(np.float32) / 255.0


def _gradient_energy(image: np.ndarray) -> float:
    return float(np.abs(np.diff(image, axis=1)).mean() + np.abs(np.diff(image, axis=0)).mean())


@pytest.mark.parametrize("kind", realistic.KINDS)
def test_every_kind_is_reproducible_and_keeps_the_size(kind):
    photo = _photo()
    first = realistic.degrade_whole_image_realistic(photo, np.random.default_rng(5), kind=kind)
    again = realistic.degrade_whole_image_realistic(photo, np.random.default_rng(5), kind=kind)
    assert first[2] == kind
    assert first[0].shape == first[1].shape == photo.shape
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert first[0].dtype == np.float32 and 0.0 <= first[0].min() and first[0].max() <= 1.0


@pytest.mark.parametrize("kind", ["shake", "object", "defocus", "uniform"])
def test_blurring_kinds_remove_detail(kind):
    photo = _photo()
    losses = []
    for seed in range(4):
        blurry, sharp, _ = realistic.degrade_whole_image_realistic(photo, np.random.default_rng(seed), kind=kind)
        losses.append(_gradient_energy(blurry) < _gradient_energy(sharp))
    assert sum(losses) >= 3


def test_camera_shake_blurs_unevenly_across_the_frame():
    """Rotation about a principal point outside the centre moves some pixels far more than others."""
    rng = np.random.default_rng(11)
    ratios = []
    for _ in range(20):
        homographies = realistic.camera_trajectory(rng, 200, 300, extent=15.0, poses=16)
        corners = np.array([[0, 0], [299, 0], [0, 199], [299, 199]], dtype=np.float64)
        travel = [np.abs(realistic._apply(h, corners) - corners).max(axis=1) for h in homographies]
        travel = np.max(travel, axis=0)
        assert travel.max() == pytest.approx(15.0, rel=0.05)  # the extent is what the worst pixel moves
        ratios.append(travel.min() / travel.max())
    assert min(ratios) < 0.7  # non-uniform blur in at least some exposures


def test_the_middle_instant_is_the_identity_so_targets_align():
    homographies = realistic.camera_trajectory(np.random.default_rng(2), 64, 64, extent=10.0, poses=9)
    assert np.allclose(homographies[4], np.eye(3), atol=1e-9)


def test_saturated_highlights_streak_instead_of_greying():
    """A clipped lamp blurred in linear light after extension stays white along its streak."""
    image = np.full((96, 96, 3), 0.05, dtype=np.float32)
    image[44:52, 44:52] = 1.0
    rng = np.random.default_rng(0)
    linear = realistic.srgb_to_linear(image.astype(np.float64))
    extended = realistic.saturate_highlights(linear, rng)
    assert extended.max() > 2.0 and np.allclose(extended[image < 0.5], linear[image < 0.5])
    streak = realistic._warp_stack(extended, realistic.camera_trajectory(rng, 96, 96, 12.0, 16)).mean(axis=0)
    plain = realistic._warp_stack(linear, realistic.camera_trajectory(np.random.default_rng(0), 96, 96, 12.0, 16))
    assert (np.clip(streak, 0, 1) >= 0.999).sum() > (np.clip(plain.mean(axis=0), 0, 1) >= 0.999).sum()


def test_realistic_sampler_gives_training_pairs():
    sampler = CropSampler([load_rgb(FIXTURES / "sharp" / "crop_kodim08.png")], crop=48, degradation="realistic")
    blurry, sharp = sampler.batch(np.random.default_rng([1, 0]), 6)
    assert blurry.shape == sharp.shape == (6, 3, 48, 48)
    assert np.isfinite(blurry).all() and not np.array_equal(blurry, sharp)


def test_photos_smaller_than_a_crop_are_skipped_not_drawn_forever():
    big = load_rgb(FIXTURES / "sharp" / "crop_kodim08.png")
    small = big[:20, :20]
    sampler = CropSampler([small, big], crop=48, degradation="realistic")
    assert sampler.skipped == 1 and len(sampler.photos) == 1
    with pytest.raises(TrainingDataError, match="smaller --crop"):
        CropSampler([small], crop=48)


def test_a_corrupt_training_image_is_a_one_line_error(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(TrainingDataError, match="broken.png: not a readable image"):
        load_rgb(bad)


def test_a_truncated_training_state_is_refused_clearly(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Image.open(FIXTURES / "sharp" / "crop_kodim08.png").save(data / "photo.png")
    out = tmp_path / "w.safetensors"
    config = TrainConfig(num_res=1, width=8, crop=32, batch=1, total_iterations=2, validation_crops=1)
    Trainer([data], out, config, resume=False).train(minutes=1)
    state = out.with_name(out.name + ".state.pt")
    state.write_bytes(state.read_bytes()[:100])
    with pytest.raises(ValueError, match="is damaged"):
        Trainer([data], out, config, resume=True)


def test_training_reports_both_validation_sets(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Image.open(FIXTURES / "sharp" / "crop_kodim08.png").save(data / "photo.png")
    config = TrainConfig(num_res=1, width=8, crop=32, batch=1, total_iterations=2, validation_crops=2,
                         validate_every=1, degradation="realistic")
    trainer = Trainer([data], tmp_path / "w.safetensors", config, resume=False)
    trainer.train(minutes=1)
    last = trainer.history[-1]
    assert {"input_psnr", "output_psnr", "uniform_input_psnr", "uniform_output_psnr"} <= set(last)


def test_an_unblurred_pair_always_has_something_to_fix():
    photo = _photo()
    quiet = realistic.RealisticRecipe(noise_probability=0.0, jpeg_probability=0.0, saturation_probability=0.0)
    for seed in range(3):
        blurry, sharp, _ = realistic.degrade_whole_image_realistic(photo, np.random.default_rng(seed), quiet, "sharp")
        assert not np.array_equal(blurry, sharp)


def test_dynamic_pairs_keep_their_light_and_include_grayscale_scenes():
    """The dynamic degradation (stage 5) blurs without shifting brightness or colour balance, in colour and in gray:
    a network trained on it must not learn to darken (v3 darkened a grayscale benchmark photo by 3.4 levels)."""
    sampler = CropSampler([load_rgb(FIXTURES / "sharp" / "crop_kodim05.png")], crop=48, degradation="dynamic")
    assert sampler.side == 48 + 2 * realistic.DYNAMIC_RECIPE.margin
    gray = colour = 0
    shifts = []
    for index in range(60):
        blurry, sharp = sampler.sample(np.random.default_rng([4, index]))
        assert blurry.shape == sharp.shape == (48, 48, 3) and not np.array_equal(blurry, sharp)
        # each target carries its input's level (only clipping at black or white can leave a trace)
        shifts.append(float(blurry.mean()) - float(sharp.mean()))
        is_gray = np.allclose(sharp[..., 0], sharp[..., 1], atol=1e-3) and np.allclose(sharp[..., 1], sharp[..., 2],
                                                                                     atol=1e-3)
        gray += is_gray
        colour += not is_gray
        if is_gray:  # the blurred input of a gray scene is gray too (noise is per channel, so within noise)
            assert np.abs(blurry[..., 0] - blurry[..., 2]).mean() < 0.03
    assert gray >= 2 and colour >= 40
    assert abs(float(np.mean(shifts))) < 0.001 and max(map(abs, shifts)) < 0.01


def test_dynamic_frames_averaged_in_srgb_differ_from_linear_averaging():
    """Half the dynamic pairs average the camera's sRGB frames (as video-based data sets did): an edge between dark
    and bright averages to a darker middle in linear light than in sRGB values."""
    recipe = realistic.DYNAMIC_RECIPE
    photo = _photo()
    linear_only = realistic.RealisticRecipe(**{**recipe.__dict__, "srgb_average_probability": 0.0,
                                               "noise_probability": 0.0, "jpeg_probability": 0.0,
                                               "saturation_probability": 0.0, "grayscale_probability": 0.0})
    srgb_only = realistic.RealisticRecipe(**{**linear_only.__dict__, "srgb_average_probability": 1.0})
    first = realistic.degrade_realistic_window(photo, np.random.default_rng(9), linear_only, "shake")[0]
    second = realistic.degrade_realistic_window(photo, np.random.default_rng(9), srgb_only, "shake")[0]
    assert not np.allclose(first, second, atol=1e-3)
    assert float(second.mean()) < float(first.mean())  # the mean of sRGB values is below sRGB of the linear mean
