"""tools/files.py: the names restored files leave the tool with, and whether an output would land on an input."""

from __future__ import annotations

import os
from pathlib import Path

from tools.files import lands_on, restored_file_name


def test_restored_files_carry_a_suffix_before_their_extension() -> None:
    assert restored_file_name("photo.jpg") == "photo_restored.jpg"
    assert restored_file_name(Path("/some/where/IMG_0001.tar.png")) == "IMG_0001.tar_restored.png"
    assert restored_file_name("no_extension") == "no_extension_restored"
    assert restored_file_name("photo.jpg", suffix="-sharp") == "photo-sharp.jpg"


def test_an_output_lands_on_its_input_through_any_spelling_or_link(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"pixels")
    (tmp_path / "sub").mkdir()
    assert lands_on(tmp_path / "sub" / ".." / "photo.png", photo)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    assert lands_on(link / "photo.png", photo)
    os.link(photo, tmp_path / "hard.png")
    assert lands_on(tmp_path / "hard.png", photo)  # a hard link is the same file, so it counts as the input
    assert not lands_on(tmp_path / "photo_restored.png", photo)
    assert not lands_on(tmp_path / "other" / "photo.png", photo)
