"""The catalog of one bundle: each supplied source with its card (when the bundle names a carded model) and task."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.bundle import QuestionBundle, Source
from knowledge.cards import SourceCard, card_for
from knowledge.vocabulary import Task, tasks

SHORT_PREFIX_MAX = 32
_ARXIV_ID = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.IGNORECASE)


@dataclass(frozen=True)
class SourceProfile:
    """A supplied source as the agent may describe it: its card (or None), its task, and the name prose uses.

    ``tasks`` holds every task the source serves (for a source without a card, each task its text names), and
    ``task`` the one the answer presents it for.
    """

    source: Source
    card: SourceCard | None
    task: Task | None
    name: str
    tasks: tuple[Task, ...] = ()

    @property
    def id(self) -> str:
        return self.source.id


def profile_bundle(bundle: QuestionBundle, wanted: set[str] | frozenset[str] = frozenset()) -> list[SourceProfile]:
    """Profile every supplied source of ``bundle``, recommended first.

    A source whose own name and summary reveal no task is read through its paper when the bundle supplies that
    paper as a related source (the same link, or a name that starts the same way), and else through the task its
    own title names ("... Reflection Removal ..."), so a model the project has never heard of still has one.

    Args:
        wanted: ids of the tasks the question calls for; a source that serves several is presented for one of these.
    """
    supplied = bundle.supplied_text().lower()
    papers = paper_of_sources(bundle.sources)
    return [_profile(source, supplied, wanted, papers.get(source.id)) for source in bundle.sources]


def _profile(source: Source, supplied: str, wanted: set[str] | frozenset[str], paper: Source | None) -> SourceProfile:
    card = card_for(source)
    served = (tasks()[card.task],) if card else infer_tasks(source)
    if not served and paper is not None:
        served = infer_tasks(paper)
    if not served:
        served = title_tasks(source) or (title_tasks(paper) if paper is not None else ())
    task = next((task for task in served if task.id in wanted), served[0] if served else None)
    return SourceProfile(source=source, card=card, task=task, name=_prose_name(source, card, supplied), tasks=served)


#: Words that end a task phrase in a title ("Single Image Reflection Removal", "Video Frame Interpolation").
_TASK_NOUNS = ("removal|enhancement|restoration|reconstruction|estimation|segmentation|detection|recognition|"
               "upsampling|super-resolution|synthesis|generation|editing|completion|correction|deblurring|"
               "denoising|dehazing|deraining|desnowing|inpainting|colori[sz]ation|tracking|matting|interpolation|"
               "stabili[sz]ation|retouching|harmoni[sz]ation|relighting|captioning|translation|transfer")
# Words of at most 40 characters: an unbounded [\w-]* ran to the end of a hyphenated run from every hyphen
# (quadratic: 4.7 s for a 20 000-character summary).
_TASK_PHRASE = re.compile(rf"\b((?:[A-Za-z][\w-]{{0,40}}\s+){{0,3}}(?:{_TASK_NOUNS}))\b", re.IGNORECASE)
_PHRASE_LEAD = re.compile(r"^(?:(?:for|via|with|in|of|on|a|an|the|to|towards?|and|by|using|from|is|we|our|"
                          r"propose|present|introduce|new|novel|efficient|fast|simple)\s+)+", re.IGNORECASE)


# "removes reflections from ..." -> reflection removal: a summary's verb and its object name the task.
_VERB_NOUNS = {"remov": "removal", "enhanc": "enhancement", "restor": "restoration", "detect": "detection",
               "segment": "segmentation", "estimat": "estimation", "generat": "generation", "upsampl": "upsampling",
               "reconstruct": "reconstruction", "correct": "correction", "recogni": "recognition"}
_VERB_OBJECT = re.compile(r"\b(remov|enhanc|restor|detect|segment|estimat|generat|upsampl|reconstruct|correct|recogni)"
                          r"(?:es|e|s|ing|ed|zes|ses)?\s+(?:the\s+|a\s+|an\s+)?([a-z][a-z-]{2,})\b", re.IGNORECASE)
_NOT_OBJECTS = {"images", "image", "photos", "photo", "photographs", "pictures", "them", "it", "this", "and", "with",
                "from", "high", "low", "real", "fine", "more", "quality", "details", "detail"}


def title_tasks(source: Source) -> tuple[Task, ...]:
    """The task a source's own title (else its summary) names, for a task outside knowledge/tasks.yaml:
    a task phrase ("Single Image Reflection Removal"), or a verb and its object ("removes reflections")."""
    for text in (source.name, source.summary or ""):
        match = _TASK_PHRASE.search(text)
        if match:
            phrase = _PHRASE_LEAD.sub("", match.group(1)).strip()
            return (_own_task(" ".join(word if word.isupper() else word.lower() for word in phrase.split())),)
    for match in _VERB_OBJECT.finditer(source.summary or ""):
        thing = match.group(2).lower()
        if thing not in _NOT_OBJECTS:
            thing = thing[:-1] if thing.endswith("s") and not thing.endswith("ss") else thing
            return (_own_task(f"{thing} {_VERB_NOUNS[match.group(1).lower()]}"),)
    return ()


def _own_task(label: str) -> Task:
    return Task(id=f"own:{label}", label=label, family="", definition="", cues=[],
                input=f"an image that needs {label}", output=f"the image after {label}")


#: Beyond a source's main task, a summary that hits only symptom cues must hit them this often before the
#: source counts as serving that task: one passing mention ("long exposures can induce blur" in a low-light
#: paper) does not make it a deblurring method, while "we evaluate on deraining and denoising" does count.
SECONDARY_SYMPTOM_HITS = 2


def infer_tasks(source: Source) -> tuple[Task, ...]:
    """The tasks a source without a card serves, most cited first: from its supplied name, else its summary."""
    for text, from_summary in ((source.name, False), (source.summary or "", True)):
        scored = [(task.hits(text), -order, task) for order, task in enumerate(tasks().values())]
        ranked = [(hits, task) for hits, _, task in sorted(scored, key=lambda item: item[:2], reverse=True) if hits]
        if ranked:
            return tuple(task for index, (hits, task) in enumerate(ranked)
                         if index == 0 or not from_summary or hits >= SECONDARY_SYMPTOM_HITS
                         or task.hits(text, symptoms=False))
    return ()


def _prose_name(source: Source, card: SourceCard | None, supplied: str) -> str:
    """A short name for prose that the bundle itself supplies: the card's short name, a title's prefix, or the name."""
    if card and card.short_name.lower() in supplied:
        return card.short_name
    # "Long Title (Short-Name)" and "Short-Name: Long Title" both carry the short name the bundle uses.
    abbreviation = re.search(r"\(([^()]{2,%d})\)\s*$" % SHORT_PREFIX_MAX, source.name)
    if abbreviation:
        return abbreviation.group(1).strip()
    prefix, colon, _ = source.name.partition(":")
    if colon and len(prefix.strip()) <= SHORT_PREFIX_MAX:
        return prefix.strip()
    return source.name


def work_keys(source: Source) -> set[str]:
    """Keys of the work a source's links point at: arXiv abs/pdf/version links of one paper share a key."""
    keys = set()
    for url in source.links.all():
        arxiv = _ARXIV_ID.search(url)
        if arxiv:
            keys.add("arxiv:" + arxiv.group(1))
        else:
            keys.add(re.sub(r"^https?://(?:www\.)?", "", url).rstrip("/").lower())
    return keys


def paper_twins(profiles: list[SourceProfile]) -> dict[str, SourceProfile]:
    """Related papers that are the paper of a recommended model (a shared link or name): related id -> its profile."""
    by_id = {profile.id: profile for profile in profiles}
    return {paper.id: by_id[model_id]
            for model_id, paper in paper_of_sources([profile.source for profile in profiles]).items()}


def paper_of_sources(sources: list[Source]) -> dict[str, Source]:
    """Recommended model id -> the related paper that is its paper: the same repository, arXiv id or page, or a name
    that begins the same way ("RealESRGAN_x4plus" and "Real-ESRGAN: Training Real-World ...")."""
    papers = {}
    related = [source for source in sources if source.role == "related"]
    for model in (source for source in sources if source.role == "recommended"):
        keys, stem = work_keys(model), _name_stem(model.name)
        match = next((paper for paper in related if keys & work_keys(paper)), None)
        if match is None and len(stem) >= 4:
            match = next((paper for paper in related if _same_stem(stem, _name_stem(paper.name.partition(":")[0]))),
                         None)
        if match is not None and all(match.id != paper.id for paper in papers.values()):
            papers[model.id] = match
    return papers


def _same_stem(first: str, second: str) -> bool:
    shorter, longer = sorted((first, second), key=len)
    return len(shorter) >= 4 and longer.startswith(shorter)


def _name_stem(name: str) -> str:
    """The letters and digits of a name's first word-run before a size or variant suffix (_x4plus, -GoPro)."""
    head = re.split(r"[_\s(]", name.strip(), maxsplit=1)[0]
    return re.sub(r"[^a-z0-9]", "", head.lower())
