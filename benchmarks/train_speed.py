"""Training step speed: the plain fp32 step against the trainer's channels_last and bf16 steps, side by side.

Each configuration runs the trainer's own step (``tools.training.loop.training_step``: the paper's loss and
Adam) on its own copy of the same seeded MIMO-UNet family member and the same real crops (blurred by the
training recipe); steps alternate configuration by configuration so that load from other processes hits
all alike, and the ratio of median step times is the speed-up.  It also reports the loss each configuration reached, so a faster step that learns worse
would show.

    python benchmarks/train_speed.py [--data ../shared/datasets/sharp] [--width 16] [--num-res 4] [--steps 30]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tools.mimo_unet import MIMOUNet  # noqa: E402
from tools.training.data import CropSampler, list_images, load_rgb, split_held_out  # noqa: E402
from tools.training.loop import training_step  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "sharp"


class Config:
    """One way of running a training step on its own copy of the network and optimizer."""

    def __init__(self, name: str, network: MIMOUNet, channels_last: bool, bf16: bool):
        self.name, self.channels_last, self.bf16 = name, channels_last, bf16
        self.network = copy.deepcopy(network)
        if channels_last:
            self.network = self.network.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=3e-4)
        self.times: list[float] = []
        self.losses: list[float] = []

    def step(self, blurry: torch.Tensor, sharp: torch.Tensor) -> None:
        started = time.perf_counter()
        loss = training_step(self.network, self.optimizer, blurry, sharp, fft_weight=0.1, bf16=self.bf16,
                             channels_last=self.channels_last)
        self.times.append(time.perf_counter() - started)
        self.losses.append(loss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=FIXTURES, help="sharp photographs (default: the test fixtures)")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--num-res", type=int, default=4)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    training, _ = split_held_out(list_images([args.data]))
    sampler = CropSampler([load_rgb(path, 1024) for path in (training or list_images([args.data]))[:64]], args.crop)
    torch.manual_seed(0)
    network = MIMOUNet(num_res=args.num_res, width=args.width)
    configs = [Config("fp32 (plain)", network, channels_last=False, bf16=False),
               Config("fp32 channels_last", network, channels_last=True, bf16=False)]
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        configs.append(Config("bf16 channels_last (--precision bf16)", network, channels_last=True, bf16=True))
    else:
        print("this CPU has no AVX512-BF16 or AMX: bf16 is not measured")

    warmup = 3
    for step in range(args.steps + warmup):
        blurry, sharp = (torch.from_numpy(a) for a in sampler.batch(np.random.default_rng([7, step]), args.batch))
        for config in configs:
            config.step(blurry, sharp)

    print(f"MIMO-UNet width {args.width}, {args.num_res} blocks per stage, batch {args.batch} of {args.crop}², "
          f"{torch.get_num_threads()} threads, {args.steps} timed steps each (after {warmup} warm-up), interleaved")
    baseline = statistics.median(configs[0].times[warmup:])
    for config in configs:
        median = statistics.median(config.times[warmup:])
        tail = statistics.mean(config.losses[-10:])
        print(f"  {config.name:40s} {median:6.3f} s/step  {baseline / median:5.2f}x  mean loss of last 10: {tail:.4f}")


if __name__ == "__main__":
    main()
