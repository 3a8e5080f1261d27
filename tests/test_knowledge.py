"""The knowledge data: cards attach only to the sources they describe, and the vocabulary is consistent."""

from __future__ import annotations

from knowledge.bundle import QuestionBundle, Source
from knowledge.cards import all_cards, card_for
from knowledge.catalog import infer_tasks, profile_bundle
from knowledge.vocabulary import aspects, tasks


def source(name: str, paper: str | None = None, summary: str | None = None) -> Source:
    return Source(id="S1", role="recommended", name=name, links={"paper": paper} if paper else {}, summary=summary)


def test_cards_attach_by_name_or_supplied_link() -> None:
    assert card_for(source("Deblur-MIMO-UNet-RealBlur")).id == "mimo-unet"
    assert card_for(source("Rethinking Coarse-to-Fine Approach in Single Image Deblurring")).id == "mimo-unet"
    assert card_for(source("Some title", paper="http://arxiv.org/pdf/2502.16025v1.pdf")).id == "featsharp"
    assert card_for(source("PU-Ray")).id == "pu-ray"
    assert card_for(source("Quietnet-Denoise", summary="Better than MIMO-UNet at denoising.")) is None


def test_vocabulary_is_consistent() -> None:
    task_ids = set(tasks())
    aspect_ids = {aspect.id for aspect in aspects()}
    for aspect in aspects():
        assert set(aspect.needs) <= task_ids, aspect.id
        assert set(aspect.yields_to) <= aspect_ids, aspect.id
        assert aspect.phrases("") == []  # every cue compiles
    for card in all_cards():
        assert card.task in task_ids, card.id
        assert set(card.addresses) | set(card.gaps) <= aspect_ids, card.id


def test_short_names_come_only_from_the_bundle() -> None:
    bundle = QuestionBundle(question="q", recommended=[
        source("Enhancing Image Matting in Real-World Scenes with Mask-Guided Iterative Refinement")])
    # The bundle never says "Mask2Alpha", so prose must use the supplied title.
    assert profile_bundle(bundle)[0].name == bundle.recommended[0].name
    titled = QuestionBundle(question="q", recommended=[source("Zero-Reference Curve Estimation (Zero-DCE)")])
    assert profile_bundle(titled)[0].name == "Zero-DCE"


def test_tasks_without_a_card_come_from_name_then_summary() -> None:
    assert infer_tasks(source("Some-Net for Image Super-Resolution"))[0].id == "super_resolution"
    several = infer_tasks(source("Restorer", summary="We evaluate on deraining, motion deblurring and denoising."))
    assert {task.id for task in several} == {"deraining", "deblurring", "denoising"}
    assert infer_tasks(source("Untitled")) == ()
