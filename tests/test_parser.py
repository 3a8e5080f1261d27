"""The bundle parser: CNAPS text in its variations, YAML and JSON, and line-numbered errors for malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from knowledge.errors import BundleError
from knowledge.parser import default_bundle, load_bundle, parse_bundle_text

BUNDLES = Path(__file__).parent / "fixtures" / "bundles"
SEED = BUNDLES / "seed.txt"
MIMO_PAPER = ("https://openaccess.thecvf.com/content/ICCV2021/papers/"
              "Cho_Rethinking_Coarse-To-Fine_Approach_in_Single_Image_Deblurring_ICCV_2021_paper.pdf")

MINIMAL = """A user has asked the following question:
"How do I sharpen this?"

### Recommended AI Models:
Model: Some-Net
Paper: https://example.org/some-net.pdf

### Related Papers:
Model: Another paper
Paper: https://example.org/another.pdf
GitHub: https://github.com/example/another
Summary: It does another thing.
"""


def test_seed_gives_question_ids_names_links_and_summaries() -> None:
    bundle = load_bundle(SEED)
    assert bundle.question.startswith("Even with harsh shadows and dim corners")
    assert bundle.question.endswith("without making it look fake?")
    assert [source.id for source in bundle.sources] == ["S1", "S2", "S3", "S4"]
    assert [source.role for source in bundle.sources] == ["recommended", "related", "related", "related"]
    mimo, featsharp, matting, pu_ray = bundle.sources
    assert mimo.name == "Deblur-MIMO-UNet-RealBlur"
    assert mimo.links.all() == [MIMO_PAPER, "https://github.com/chosj95/MIMO-UNet"]
    assert mimo.summary is None
    assert featsharp.links.code is None and str(featsharp.links.paper) == "http://arxiv.org/pdf/2502.16025v1.pdf"
    assert matting.summary.startswith("Real-world image matting is essential")
    assert pu_ray.name.startswith("PU-Ray:")
    assert str(pu_ray.links.code) == "https://github.com/sum1lim/PU-Ray"


def test_default_bundle_is_the_seed() -> None:
    assert default_bundle() == load_bundle(SEED)


def test_crlf_french_and_missing_github_parse_like_lf() -> None:
    raw = (BUNDLES / "ex_crlf_french_no_github.txt").read_bytes()
    assert b"\r\n" in raw
    bundle = load_bundle(BUNDLES / "ex_crlf_french_no_github.txt")
    assert bundle.question == "Mon scan d'une vieille photo est flou — quel modèle peut la rendre nette ?"
    assert bundle.source("S4").links.code is None
    assert bundle == parse_bundle_text(raw.decode("utf-8").replace("\r\n", "\n"))


def test_extra_blank_lines_bom_curly_quotes_and_multiline_summary() -> None:
    text = ("\ufeffA user has asked the following question:\n\n\n“Why is it soft?”\n\n"
            "### Recommended AI Models:\n\n\nModel: Some-Net\n\n\nPaper: https://example.org/a.pdf\n"
            "Summary: First line of the summary\ncontinues here.\n\n### Related Papers:\n\nAnswer:\n")
    bundle = parse_bundle_text(text)
    assert bundle.question == "Why is it soft?"
    assert bundle.source("S1").summary == "First line of the summary continues here."
    assert bundle.related == []


def test_question_spanning_lines_with_inner_quotes() -> None:
    text = MINIMAL.replace('"How do I sharpen this?"', '"My sign says "OPEN" but it is\nblurred. Help?"')
    assert parse_bundle_text(text).question == 'My sign says "OPEN" but it is blurred. Help?'


def test_yaml_and_json_give_the_same_bundle_as_text(tmp_path: Path) -> None:
    text_bundle = parse_bundle_text(MINIMAL)
    compact = {"question": "How do I sharpen this?",
               "recommended": [{"name": "Some-Net", "paper": "https://example.org/some-net.pdf"}],
               "related": [{"model": "Another paper", "paper": "https://example.org/another.pdf",
                            "github": "https://github.com/example/another", "summary": "It does another thing."}]}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(compact, allow_unicode=True), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(compact), encoding="utf-8")
    (tmp_path / "dump.json").write_text(text_bundle.model_dump_json(), encoding="utf-8")
    for name in ("b.yaml", "b.json", "dump.json"):
        assert load_bundle(tmp_path / name) == text_bundle
    assert parse_bundle_text(yaml.safe_dump(compact)) == text_bundle


@pytest.mark.parametrize(("text", "line", "expected"), [
    ("No intro here\nModel: X\n", 1, "A user has asked the following question"),
    ("A user has asked the following question:\nHow do I sharpen?\n", 2, "in double quotes"),
    ("A user has asked the following question:\n\"Never closed\n\n### Recommended AI Models:\n", 2, "closing quote"),
    (MINIMAL.replace("Model: Some-Net\n", ""), 5, "'Model:' line before"),
    (MINIMAL.replace("Paper: https://example.org/some-net.pdf", "Paper: not a url"), 6, "http(s) URL"),
    (MINIMAL.replace("Paper: https://example.org/another.pdf\n", "Paper: https://example.org/another.pdf\n"
                     "Paper: https://example.org/twice.pdf\n"), 11, "second 'Paper:'"),
    (MINIMAL.replace("Model: Some-Net", "Some-Net is great"), 5, "expected a 'Model:'"),
    (MINIMAL.replace("### Recommended AI Models:", "### Models"), 5, "'### Recommended AI Models:' heading"),
    ("A user has asked the following question:\n\"Q?\"\n", 2, "'### Recommended AI Models:' section"),
    (MINIMAL.replace("Model: Some-Net", "Model:"), 5, "name after 'Model:'"),
])
def test_malformed_documents_name_the_line_and_what_was_expected(text: str, line: int, expected: str) -> None:
    with pytest.raises(BundleError) as caught:
        parse_bundle_text(text, origin="q.txt")
    assert str(caught.value).startswith(f"q.txt:{line}: ")
    assert expected in str(caught.value)


def test_malformed_structured_documents(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"question": "q",\n "recommended": [\n}', encoding="utf-8")
    with pytest.raises(BundleError, match=r"bad\.json:3: expected valid JSON"):
        load_bundle(tmp_path / "bad.json")
    (tmp_path / "bad.yaml").write_text("question: q\nrecommended:\n  - name: [unclosed\n", encoding="utf-8")
    with pytest.raises(BundleError, match=r"bad\.yaml:\d+: expected valid YAML"):
        load_bundle(tmp_path / "bad.yaml")
    (tmp_path / "nolinks.yaml").write_text("question: q\nrecommended:\n  - name: A\n    paper: nope\n",
                                           encoding="utf-8")
    with pytest.raises(BundleError, match=r"recommended\.0\.links\.paper"):
        load_bundle(tmp_path / "nolinks.yaml")
    (tmp_path / "empty.yaml").write_text("question: q\nrecommended: []\n", encoding="utf-8")
    with pytest.raises(BundleError, match="at least one model"):
        load_bundle(tmp_path / "empty.yaml")


def test_unreadable_files_are_bundle_errors(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such file"):
        load_bundle(tmp_path / "missing.txt")
    with pytest.raises(BundleError, match="is a folder"):
        load_bundle(tmp_path)
    (tmp_path / "latin1.txt").write_bytes("question: caf\xe9\n".encode("latin-1"))
    with pytest.raises(BundleError, match=r"latin1\.txt:1: expected UTF-8"):
        load_bundle(tmp_path / "latin1.txt")


def test_a_bad_document_is_left_untouched(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"A user has asked the following question:\r\nunquoted\r\n")
    before = bad.read_bytes()
    with pytest.raises(BundleError):
        load_bundle(bad)
    assert bad.read_bytes() == before


def test_markdown_dressing_link_labels_and_extra_facts() -> None:
    bundle = load_bundle(BUNDLES / "markdown_dressed_shaky_kid.txt")
    mimo, esrgan = bundle.source("S1"), bundle.source("S2")
    assert mimo.name == "Deblur-MIMO-UNet-GoPro" and mimo.role == "recommended"
    # "[ICCV 2021](url)" and "<url>" give the bare URLs; "Authors:" is a supplied fact kept with the summary.
    assert str(mimo.links.paper).endswith("Cho_Rethinking_Coarse-To-Fine_Approach_in_Single_Image_Deblurring_ICCV_2021_paper.pdf")
    assert str(mimo.links.code) == "https://github.com/chosj95/MIMO-UNet"
    assert mimo.summary == "Authors: Sung-Jin Cho, Seo-Won Ji, Jun-Pyo Hong, Seung-Won Jung, Sung-Jea Ko."
    # "Link:" to arXiv is the paper; a "Project page:" is kept as the source's page.
    assert esrgan.role == "related" and esrgan.name.startswith("Real-ESRGAN: Training Real-World")
    assert str(esrgan.links.paper) == "https://arxiv.org/abs/2107.10833"
    assert str(esrgan.links.page) == "https://github.com/xinntao/Real-ESRGAN"
    assert "https://github.com/xinntao/Real-ESRGAN" in bundle.allowed_links()
    assert esrgan.summary.startswith("We extend ESRGAN")


def test_unlabelled_links_go_by_host_and_unknown_link_labels_are_refused() -> None:
    text = MINIMAL.replace("Paper: https://example.org/some-net.pdf",
                           "URL: https://github.com/someone/some-net\nLink: https://example.org/some-net.pdf")
    text = text.replace("Model: Some-Net", "Model: **Some-Net**")
    source = parse_bundle_text(text).source("S1")
    assert source.name == "Some-Net"
    assert str(source.links.code) == "https://github.com/someone/some-net"
    assert str(source.links.paper) == "https://example.org/some-net.pdf"
    with pytest.raises(BundleError, match="unknown link field 'Mirror:'"):
        parse_bundle_text(MINIMAL.replace("Paper: https://example.org/some-net.pdf",
                                          "Paper: https://example.org/some-net.pdf\nMirror: https://example.net/x"))


def test_many_bundle_files_give_items_and_keep_going_past_a_broken_one(tmp_path: Path) -> None:
    from knowledge.parser import load_bundle_items

    jsonl = tmp_path / "set.jsonl"
    jsonl.write_text('{"id": "a", "question": "Q?", "recommended": [{"name": "Some-Net"}]}\n\n{oops\n'
                     '{"text": ' + json.dumps(MINIMAL) + '}\n', encoding="utf-8")
    items = load_bundle_items(jsonl)
    assert [item.label for item in items] == ["a", "3", "4"]
    assert items[0].bundle.question == "Q?" and items[2].bundle == parse_bundle_text(MINIMAL)
    assert str(items[1].error).startswith(f"{jsonl}:3: expected valid JSON")
    listed = tmp_path / "set.yaml"
    listed.write_text("- question: One?\n  recommended: [{name: A}]\n- question: Two?\n  recommended: []\n",
                      encoding="utf-8")
    first, second = load_bundle_items(listed)
    assert first.bundle.question == "One?" and "at least one model" in str(second.error)
    with pytest.raises(BundleError, match="holds 2 bundles"):
        load_bundle(listed)
    # One document in a file stays a one-bundle file, with no label.
    assert [item.label for item in load_bundle_items(BUNDLES / "seed.txt")] == [None]


NATURAL = {"question": "How do I sharpen this?",
           "recommended_models": ["Some-Net (https://example.org/some-net.pdf)"],
           "related_papers": [{"title": "Another paper", "url": "https://example.org/another.pdf",
                               "link": "https://github.com/example/another",
                               "description": "It does another thing."}]}


def test_natural_json_and_yaml_keys_and_text_entries_give_the_same_bundle(tmp_path: Path) -> None:
    expected = parse_bundle_text(MINIMAL)
    (tmp_path / "natural.json").write_text(json.dumps(NATURAL), encoding="utf-8")
    (tmp_path / "natural.yaml").write_text(yaml.safe_dump(NATURAL), encoding="utf-8")
    for name in ("natural.json", "natural.yaml"):
        assert load_bundle(tmp_path / name) == expected
    assert parse_bundle_text(json.dumps(NATURAL)) == expected
    # "Recommended Models" / "papers" keys, Markdown links, "Name - URL URL" and a list of links.
    other = parse_bundle_text(json.dumps({
        "question": "Q?", "Recommended Models": ["[Some-Net](https://arxiv.org/abs/2111.09881)"],
        "papers": ["Real-ESRGAN - https://arxiv.org/abs/2107.10833 https://github.com/xinntao/Real-ESRGAN.",
                   {"name": "X", "links": ["https://github.com/a/b", "https://example.org/x.pdf"]}]}))
    some_net, esrgan, x = other.sources
    assert (some_net.role, some_net.name, some_net.links.all()) == ("recommended", "Some-Net",
                                                                    ["https://arxiv.org/abs/2111.09881"])
    assert esrgan.name == "Real-ESRGAN" and esrgan.links.all() == ["https://arxiv.org/abs/2107.10833",
                                                                   "https://github.com/xinntao/Real-ESRGAN"]
    assert x.links.all() == ["https://example.org/x.pdf", "https://github.com/a/b"]


@pytest.mark.parametrize(("data", "expected"), [
    ({"question": "Q?", "recommended_models": []}, "at least one model under 'recommended'"),
    ({"question": "Q?", "recommended": ["A"], "recommended_models": ["B"]}, "both 'recommended' and"),
    ({"question": "Q?", "recommended_models": ["https://arxiv.org/abs/1"]}, "recommended_models[0]: expected a name"),
    ({"question": "Q?", "recommended_models": ["A" * 400]}, "'name' is 400 characters; the limit is 300"),
    ({"question": "Q?", "recommended_models": ["A https://x.org/" + "a" * 3000]}, "'link' is 3,014 characters"),
    ({"question": "Q?", "recommended_models": ["A " + "B" * 20_000]}, "'source' is 20,002 characters"),
    ({"question": "Q?", "recommended_models": [["A"]]}, "expected a mapping with 'name'"),
    ({"question": "Q?", "recommended_models": [{"title": ["A"]}]}, "expected 'name' to be text"),
    ({"question": "Q?", "recommended_models": ["A www.evil.example"]}, "must not hold a link"),
    ({"question": "Q?", "recommended_models": ["A https://a.org/1 https://b.org/2 https://c.org/3 https://d.org/4"]},
     "more links than one paper"),
    ({"question": "Q?", "models": ["A"] * 201}, "the bundle has 201 sources; the limit is 200"),
])
def test_natural_bundles_keep_the_limits_and_name_what_is_wrong(data: dict, expected: str) -> None:
    with pytest.raises(BundleError) as caught:
        parse_bundle_text(json.dumps(data), origin="q.json")
    assert str(caught.value).startswith("q.json: ") and expected in str(caught.value)
