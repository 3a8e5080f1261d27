"""`cnaps train`: train a MIMO-UNet family member on sharp photographs with synthetic blur."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.app import app


@app.command()
def train(
    data: list[Path] = typer.Option(..., "--data", help="Folders or files of sharp photographs (repeatable)."),
    out: Path = typer.Option(..., "--out", help="Weights file to write (.safetensors); state goes beside it."),
    minutes: float = typer.Option(..., "--minutes", min=0.1, help="Wall-clock budget for this run."),
    variant: str = typer.Option("lite", "--variant", help="lite (width 16, 4 blocks; the shipped cnaps-lite is this "
                                                          "with --num-res 8), MIMO-UNet or MIMO-UNetPlus."),
    num_res: int | None = typer.Option(None, "--num-res", help="Override ResBlocks per stage."),
    width: int | None = typer.Option(None, "--width", help="Override base channel width."),
    crop: int = typer.Option(128, "--crop", help="Training crop size in pixels."),
    batch: int = typer.Option(8, "--batch", help="Crops per iteration."),
    iterations: int = typer.Option(3000, "--iterations", help="Length of the learning-rate schedule."),
    learning_rate: float = typer.Option(3e-4, "--lr", help="Peak learning rate."),
    seed: int = typer.Option(2021, "--seed", help="Seed of crops, blur and validation set."),
    threads: int = typer.Option(0, "--threads", help="Torch CPU threads (0: all cores)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from <out>.state.pt if present."),
    init: Path | None = typer.Option(None, "--init", help="Start from these safetensors weights (fine-tuning)."),
    until: int | None = typer.Option(None, "--until", min=1,
                                     help="Stop at this iteration (default: the end of the schedule)."),
    precision: str = typer.Option("fp32", "--precision",
                                  help="fp32, or bf16 (forward pass in bfloat16 autocast; about 2x faster "
                                       "on CPUs with AVX512-BF16 or AMX)."),
    degradation: str = typer.Option("uniform", "--degradation",
                                    help="uniform (one blur kernel per crop) or realistic (non-uniform camera "
                                         "shake, moving objects, defocus, saturated highlights, sensor noise "
                                         "and JPEG, with uniform kernels as one part), or dynamic "
                                         "(the realistic mix made like video-based real-blur sets: frames "
                                         "averaged in sRGB or linear light, blur up to 40 px, some grayscale)."),
) -> None:
    """Train (or resume training) and write safetensors weights with the recipe in their metadata."""
    import torch
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from tools.training.loop import TrainConfig, Trainer

    shapes = {"lite": (4, 16), "MIMO-UNet": (8, 32), "MIMO-UNetPlus": (20, 32)}
    if variant not in shapes:
        raise typer.BadParameter(f"choose one of {', '.join(shapes)}", param_hint="--variant")
    if threads:
        torch.set_num_threads(threads)
    default_res, default_width = shapes[variant]
    config = TrainConfig(num_res=num_res or default_res, width=width or default_width, crop=crop, batch=batch,
                         total_iterations=iterations, learning_rate=learning_rate, seed=seed, precision=precision,
                         degradation=degradation)
    try:
        trainer = Trainer(data, out, config, resume=resume, init=init)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    with Progress(TextColumn("[bold]train"), BarColumn(), TextColumn("{task.completed}/{task.total} it"),
                  TextColumn("{task.fields[status]}"), TimeRemainingColumn()) as progress:
        task = progress.add_task("train", total=config.total_iterations, completed=trainer.iteration, status="")
        validation = ""

        def show(report) -> None:
            nonlocal validation
            if report.validation_output_psnr is not None:
                validation = (f" val PSNR {report.validation_input_psnr:.2f} -> "
                              f"{report.validation_output_psnr:.2f} dB")
            progress.update(task, completed=report.iteration, status=f"loss {report.loss:.4f}{validation}")

        final = trainer.train(minutes, show, until=until)
    typer.echo(f"wrote {out} after {final.iteration} iterations ({final.seconds / 60:.1f} min of training)")


@app.command("synth-blur")
def synth_blur(
    sharp: list[Path] = typer.Argument(..., help="Sharp images or folders (e.g. held-out photographs)."),
    out: Path = typer.Option(..., "--out", help="Folder that receives blurry/ and sharp/ sub-folders."),
    seed: int = typer.Option(7, "--seed", help="Seed of the blur kernels, noise and JPEG strength."),
    max_side: int | None = typer.Option(None, "--max-side", help="Shrink images whose longer side is larger."),
    degradation: str = typer.Option("uniform", "--degradation",
                                    help="uniform (one kernel per image) or realistic (non-uniform shake, moving "
                                         "objects, defocus, saturated highlights, noise, JPEG) or dynamic "
                                         "(the same made like video-based real-blur sets, blur up to 40 px)."),
) -> None:
    """Make a synthetic deblurring benchmark: blurred copies of sharp images with a fixed seed."""
    from tools.training.benchmark import make_synthetic_benchmark

    try:
        stems = make_synthetic_benchmark(sharp, out, seed=seed, max_side=max_side, degradation=degradation)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"wrote {len(stems)} pairs to {out}/blurry and {out}/sharp; evaluate with: "
               f"cnaps eval-restore {out}/blurry {out}/sharp")
