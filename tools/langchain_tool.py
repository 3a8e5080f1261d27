"""The restoration tool as a LangChain tool, so any LangChain agent can restore an image for real."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from tools.presets import DEFAULT_PRESET, PRESETS

TOOL_NAME = "restore_image"
TOOL_DESCRIPTION = (
    "Deblur a photograph with a MIMO-UNet network (Cho et al., ICCV 2021) running locally. "
    "Give the path of an image file; optionally a weights preset "
    f"({', '.join(PRESETS)}; default {DEFAULT_PRESET}) and a tile size in pixels for very large images. "
    "Returns the restored file's path, the preset that ran, the seconds it took and the sharpness before "
    "and after (variance of the Laplacian; higher is sharper), an outcome (restored or unchanged) and a verdict: "
    "improved (restored), not_blurred or not_improved (then the photo is handed back unchanged and must not be "
    "called restored). Fails with "
    "a message when the file is not a readable image or the preset's weights are not installed."
)


class RestoreImageInput(BaseModel):
    """Arguments of ``restore_image``."""

    image_path: str = Field(description="Path of the image file to restore.")
    preset: str | None = Field(default=None, description=f"Weights preset or file; default {DEFAULT_PRESET}.")
    tile: int | None = Field(default=None, ge=0, description="Tile size in pixels; omit to choose automatically.")


class RestoreImageOutput(BaseModel):
    """What ``restore_image`` returns."""

    output_path: str
    preset: str
    seconds: float
    sharpness_before: float
    sharpness_after: float
    notes: list[str] = Field(default_factory=list)
    applied: bool = Field(default=True, description="False: the photo was handed back unchanged")
    verdict: str = Field(default="improved", description="improved, not_improved or not_blurred")
    verdict_reason: str = ""
    blur_before: float | None = None
    blur_after: float | None = None
    outcome: str = Field(default="restored", description="restored (the output, accepted by the check) or unchanged "
                                                          "(the photo handed back as it was)")


def make_restore_tool(out_dir: Path, device: str | None = None, bf16: bool | None = None):
    """A LangChain ``BaseTool`` named ``restore_image`` writing ``<stem>_restored.<ext>`` files into ``out_dir``.

    ``device`` and ``bf16`` are the caller's choices (as for ``tools.restore.get_restorer``), not the model's.
    """
    from langchain_core.tools import StructuredTool, ToolException

    def restore_image(image_path: str, preset: str | None = None, tile: int | None = None) -> dict:
        from tools.errors import RestorationError
        from tools.files import restored_file_name
        from tools.restore import restore_file

        try:
            result = restore_file(Path(image_path), Path(out_dir), preset=preset, tile=tile,
                                  output_name=restored_file_name(image_path), device=device, bf16=bf16)
        except RestorationError as error:
            raise ToolException(str(error)) from error  # shown to the model instead of crashing the agent
        return RestoreImageOutput(output_path=str(result.output_path), preset=result.preset,
                                  seconds=round(result.seconds, 3),
                                  sharpness_before=round(result.sharpness_before, 2),
                                  sharpness_after=round(result.sharpness_after, 2), notes=result.notes,
                                  applied=result.applied, verdict=result.verdict,
                                  verdict_reason=result.verdict_reason, blur_before=result.blur_before,
                                  blur_after=result.blur_after, outcome=result.outcome).model_dump()

    return StructuredTool.from_function(func=restore_image, name=TOOL_NAME, description=TOOL_DESCRIPTION,
                                        args_schema=RestoreImageInput, handle_tool_error=True)
