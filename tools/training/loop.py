"""The training loop: the paper's multi-scale content + frequency loss, Adam, cosine decay,
resumable checkpoints written atomically, and a fixed-seed validation set."""

from __future__ import annotations

import io
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from tools.mimo_unet import MIMOUNet
from tools.training.blur import BlurRecipe
from tools.training.data import DEGRADATIONS, CropSampler, list_images, load_rgb, split_held_out
from tools.weights_io import atomic_write_bytes, save_safetensors


@dataclass
class TrainConfig:
    """Every setting that shapes the shipped weights (stored in the checkpoint metadata)."""

    num_res: int = 4
    width: int = 16
    crop: int = 128
    batch: int = 8
    learning_rate: float = 3e-4
    min_learning_rate: float = 1e-6
    total_iterations: int = 6000
    fft_weight: float = 0.1
    seed: int = 2021
    validation_crops: int = 24
    validate_every: int = 250
    checkpoint_every: int = 100
    max_photo_side: int = 1024
    #: "fp32", or "bf16": forward pass under bfloat16 autocast (fp32 master weights, loss and validation);
    #: about 2x faster steps than fp32 channels-last on CPUs with AVX512-BF16 or AMX.
    precision: str = "fp32"
    #: "uniform" (one kernel per crop) or "realistic" (tools.training.realistic)
    degradation: str = "uniform"
    recipe: BlurRecipe = field(default_factory=BlurRecipe)


def multiscale_loss(outputs: list[torch.Tensor], sharp: torch.Tensor, fft_weight: float) -> torch.Tensor:
    """Sum over the three scales of L1 content plus ``fft_weight`` x L1 of the 2-D FFTs (labels bilinear)."""
    targets = [F.interpolate(sharp, scale_factor=0.25, mode="bilinear"),
               F.interpolate(sharp, scale_factor=0.5, mode="bilinear"), sharp]
    loss = sharp.new_zeros(())
    for prediction, target in zip(outputs, targets):
        loss = loss + F.l1_loss(prediction, target)
        loss = loss + fft_weight * F.l1_loss(torch.view_as_real(torch.fft.fft2(prediction)),
                                             torch.view_as_real(torch.fft.fft2(target)))
    return loss


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean PSNR (dB) over a batch of [0, 1] images."""
    mse = ((a.clamp(0, 1) - b) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return float((10 * torch.log10(1.0 / mse)).mean())


def learning_rate_at(config: TrainConfig, iteration: int) -> float:
    """Cosine decay from ``learning_rate`` to ``min_learning_rate`` over ``total_iterations``, short warm-up."""
    warmup = 200
    if iteration < warmup:
        return config.learning_rate * (iteration + 1) / warmup
    progress = min(1.0, (iteration - warmup) / max(1, config.total_iterations - warmup))
    return config.min_learning_rate + 0.5 * (config.learning_rate - config.min_learning_rate) * (1 + math.cos(math.pi * progress))


def training_step(network: MIMOUNet, optimizer: torch.optim.Optimizer, blurry: torch.Tensor, sharp: torch.Tensor,
                  *, fft_weight: float, bf16: bool, channels_last: bool = True) -> float:
    """One step: forward (under bfloat16 autocast if ``bf16``), the paper's loss in fp32, backward, update; the loss.

    ``channels_last`` feeds the batch in oneDNN's native layout (the trainer's network is kept in it).
    """
    optimizer.zero_grad(set_to_none=True)
    if channels_last:
        blurry = blurry.contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        outputs = network(blurry)
    loss = multiscale_loss([output.float() for output in outputs], sharp, fft_weight)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def deepen_state_dict(tensors: dict[str, torch.Tensor], network: MIMOUNet,
                      source_res: int) -> dict[str, torch.Tensor]:
    """Weights of a network with ``source_res`` blocks per stage mapped onto the deeper ``network``.

    Trained blocks keep their places; each added ResBlock starts as the identity (its second
    convolution's weight and bias are zero, so ``x + main(x) == x``) and learns from there.
    """
    if source_res > network.num_res:
        raise ValueError(f"cannot shrink {source_res} blocks per stage to {network.num_res}")
    target = {name: value.detach().clone() for name, value in network.state_dict().items()}
    for name, value in tensors.items():
        if name not in target:
            raise ValueError(f"unexpected tensor {name} in the initial weights")
        target[name] = value
    for name in target:
        parts = name.split(".")
        # <Encoder|Decoder>.<stage>.layers.<block>.main.<conv>.main.0.<weight|bias>
        if parts[0] in ("Encoder", "Decoder") and parts[2] == "layers" and int(parts[3]) >= source_res \
                and parts[5] == "1":
            target[name] = torch.zeros_like(target[name])
    return target


@dataclass
class TrainingReport:
    """What a training run did, for the progress display and the model card."""

    iteration: int
    loss: float
    validation_input_psnr: float | None
    validation_output_psnr: float | None
    seconds: float


class Trainer:
    """Trains one MIMO-UNet family member; state lives in ``<out>.state.pt`` so runs resume."""

    def __init__(self, data: list[Path], out: Path, config: TrainConfig, resume: bool, init: Path | None = None):
        self.out = Path(out)
        self.state_path = self.out.with_name(self.out.name + ".state.pt")
        self.config = config
        if config.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16, not {config.precision!r}")
        if config.precision == "bf16" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            raise ValueError("bf16 training needs a CPU with AVX512-BF16 or AMX; use precision fp32")
        images = list_images(data)
        training, held_out = split_held_out(images)
        if not training:
            raise ValueError("no training images found (held-out prefixes excluded)")
        self.training_files = training
        self.sampler = CropSampler([load_rgb(p, config.max_photo_side) for p in training], config.crop, config.recipe,
                                   config.degradation)
        validation_photos = [load_rgb(p, config.max_photo_side) for p in held_out if p.name.startswith("bsds500-test_")]
        # Both validation sets are always measured, so a run on one degradation shows what it does to the other.
        self.validations = {name: self._validation_set(validation_photos or self.sampler.photos[:8], name)
                            for name in DEGRADATIONS}
        torch.manual_seed(config.seed)  # the initial weights, like the data, follow from the seed
        # channels_last: the same arithmetic, about 1.3x faster convolutions on CPU (oneDNN's native layout).
        self.network = MIMOUNet(num_res=config.num_res, width=config.width).to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.learning_rate)
        self.iteration = 0
        self.seconds = 0.0
        self.history: list[dict] = []
        if resume and self.state_path.exists():
            self._load_state()
        elif init is not None:
            self._load_initial_weights(Path(init))

    def _validation_set(self, photos: list[np.ndarray], degradation: str) -> tuple[torch.Tensor, torch.Tensor]:
        sampler = CropSampler(photos, self.config.crop, self.config.recipe, degradation)
        blurry, sharp = sampler.batch(np.random.default_rng(self.config.seed + 1), self.config.validation_crops)
        return torch.from_numpy(blurry), torch.from_numpy(sharp)

    @property
    def validation(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The validation crops of this run's own degradation."""
        return self.validations[self.config.degradation]

    def _load_state(self) -> None:
        try:
            state = torch.load(self.state_path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises RuntimeError, EOFError, pickle errors... for a damaged file
            raise ValueError(f"{self.state_path} is damaged ({type(error).__name__}); delete it to start over "
                             f"or restore it from a backup") from error
        self.network.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        self.seconds = float(state["seconds"])
        self.history = list(state.get("history", []))

    def _load_initial_weights(self, path: Path) -> None:
        """Start from saved safetensors weights (e.g. the shipped ones) with a fresh optimizer and schedule.

        Weights of a shallower network of the same width deepen it without changing what it computes: each
        stage keeps its trained ResBlocks and gains identity blocks (second convolution zeroed) after them.
        """
        from tools.weights_io import load_safetensors

        tensors, metadata = load_safetensors(path)
        start = {"initialised_from": path.name, "iterations_before": int(metadata.get("iterations", 0))}
        source_res = int(metadata.get("num_res", self.config.num_res))
        if source_res != self.config.num_res:
            tensors = deepen_state_dict(tensors, self.network, source_res)
            start["deepened_from_num_res"] = source_res
        try:
            self.network.load_state_dict(tensors, strict=True)
        except RuntimeError as error:
            raise ValueError(f"{path} does not fit a network of width {self.config.width} "
                             f"with {self.config.num_res} blocks per stage: {error}") from error
        self.history = [start]

    def save_state(self) -> None:
        """Write the resumable state and the current safetensors weights, both atomically."""
        buffer = io.BytesIO()
        torch.save({"model": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
                    "iteration": self.iteration, "seconds": self.seconds, "history": self.history}, buffer)
        atomic_write_bytes(self.state_path, buffer.getvalue())
        save_safetensors(self.network.state_dict(), self.out, self.metadata())

    def metadata(self) -> dict[str, object]:
        """Safetensors metadata: the variant, its shape and the full recipe."""
        last = self.history[-1] if self.history else {}
        metadata = {"format": "cnaps-mimo-unet", "variant": "MIMO-UNet", "num_res": self.config.num_res,
                    "width": self.config.width, "iterations": self.iteration,
                    "train_seconds": round(self.seconds), "recipe": asdict(self.config),
                    "training_images": len(self.training_files), "validation": last}
        if self.history and "initialised_from" in self.history[0]:
            # Fine-tuned weights say what they started from, so "iterations" is not read as the whole story.
            for key in ("initialised_from", "iterations_before", "deepened_from_num_res"):
                if key in self.history[0]:
                    metadata[key] = self.history[0][key]
        return metadata

    @torch.no_grad()
    def validate(self, degradation: str | None = None) -> tuple[float, float]:
        """PSNR of the fixed validation crops (of ``degradation``, default this run's) before and after the network."""
        self.network.eval()
        blurry, sharp = self.validations[degradation or self.config.degradation]
        restored = torch.cat([self.network(chunk)[2] for chunk in blurry.split(8)])
        self.network.train()
        return psnr(blurry, sharp), psnr(restored, sharp)

    def train(self, minutes: float, on_step: Callable[[TrainingReport], None] | None = None,
              until: int | None = None) -> TrainingReport:
        """Train until ``minutes`` pass, iteration ``until`` is reached or the schedule ends; checkpoint
        periodically and at the end."""
        config = self.config
        last = min(config.total_iterations, until or config.total_iterations)
        deadline = time.monotonic() + minutes * 60
        self.network.train()
        # The next batch is drawn in a second thread while this step trains (numpy, scipy and torch release the
        # GIL): on two cores the realistic degradations cost about as much as the step itself. Each batch still
        # comes from its own iteration's seed, so the data are the same as drawn one after the other.
        from concurrent.futures import ThreadPoolExecutor

        def draw(iteration: int):
            return self.sampler.batch(np.random.default_rng([config.seed, iteration]), config.batch)

        with ThreadPoolExecutor(max_workers=1) as pool:
            upcoming = pool.submit(draw, self.iteration)
            report, loss_value = self._train_steps(pool, upcoming, draw, last, deadline, on_step)
        self.save_state()
        return report or TrainingReport(self.iteration, loss_value, None, None, self.seconds)

    def _train_steps(self, pool, upcoming, draw, last: int, deadline: float,
                     on_step: Callable[[TrainingReport], None] | None) -> tuple[TrainingReport | None, float]:
        config = self.config
        loss_value, report = float("nan"), None
        while self.iteration < last and time.monotonic() < deadline:
            started = time.monotonic()
            batch = upcoming.result()
            upcoming = pool.submit(draw, self.iteration + 1) if self.iteration + 1 < last else None
            blurry, sharp = (torch.from_numpy(a) for a in batch)
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate_at(config, self.iteration)
            loss_value = training_step(self.network, self.optimizer, blurry, sharp, fft_weight=config.fft_weight,
                                       bf16=config.precision == "bf16")
            self.iteration += 1
            self.seconds += time.monotonic() - started
            validation = (None, None)
            if self.iteration % config.validate_every == 0:
                validation = self.validate()
                entry = {"iteration": self.iteration, "loss": loss_value,
                         "input_psnr": round(validation[0], 3), "output_psnr": round(validation[1], 3)}
                for name in DEGRADATIONS:
                    if name != config.degradation:
                        other = self.validate(name)
                        entry[f"{name}_input_psnr"], entry[f"{name}_output_psnr"] = round(other[0], 3), round(other[1], 3)
                self.history.append(entry)
            if self.iteration % config.checkpoint_every == 0:
                self.save_state()
            report = TrainingReport(self.iteration, loss_value, *validation, self.seconds)
            if on_step:
                on_step(report)
        if upcoming is not None:
            upcoming.cancel()
        return report, loss_value
