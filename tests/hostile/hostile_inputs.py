"""Hostile bundles and names, as an attacker would write them; shared by the parser, CLI, server and markup tests."""

from __future__ import annotations

import json

SEED_LIKE_SOURCES = """### Recommended AI Models:
Model: Deblur-MIMO-UNet-RealBlur
Paper: https://example.org/mimo-unet.pdf
GitHub: https://github.com/chosj95/MIMO-UNet
Summary: A multi-scale network for single image deblurring.
"""


def cnaps_document(question: str, sources: str = SEED_LIKE_SOURCES) -> str:
    """A CNAPS-style document with ``question`` and the given source blocks."""
    return f'A user has asked the following question:\n"{question}"\n\n{sources}'


def _alias_bomb() -> str:
    # "Billion laughs": nine levels of nine aliases each expand to 9**9 strings (a 355-byte variant of this took
    # the server to 4.9 GB).
    lines = ['question: "q"', 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{level}: &a{level} [{','.join([f'*a{level - 1}'] * 9)}]" for level in range(1, 9)]
    lines.append("recommended: [{name: *a8}]")
    return "\n".join(lines) + "\n"


def _many_sources_json(count: int, with_links: bool = False) -> str:
    link = ',"github":"https://github.com/x/m{index}"' if with_links else ""
    sources = ",".join(f'{{"name":"M{index}"{link.format(index=index)}}}' for index in range(count))
    return f'{{"question":"Which model deblurs my photo?","recommended":[{sources}]}}'


def _many_sources_cnaps(count: int) -> str:
    blocks = "".join(f"Model: Model-{index}\nGitHub: https://github.com/x/m{index}\n" for index in range(count))
    return cnaps_document("Which model deblurs my photo?", "### Recommended AI Models:\n" + blocks)


#: name -> (file suffix, text): every one must be refused with a BundleError, quickly.
HOSTILE_BUNDLES: dict[str, tuple[str, str]] = {
    "alias_bomb": (".yaml", _alias_bomb()),
    "alias_bomb_as_text": (".txt", _alias_bomb()),
    "anchor_only": (".yaml", 'question: &q "How do I deblur?"\nrecommended: [{name: MIMO-UNet}]\n'),
    "python_tag": (".yaml", 'question: !!python/object/apply:os.system ["touch /tmp/cnaps-pwned"]\n'
                            'recommended: [{name: MIMO-UNet}]\n'),
    "custom_tag": (".yaml", "question: !include /etc/passwd\nrecommended: [{name: MIMO-UNet}]\n"),
    "nested_json": (".json", '{"question": "q", "recommended": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    "nested_json_objects": (".json", '{"question": ' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}"),
    "nested_yaml": (".yaml", "question: q\nrecommended: " + "[" * 50_000 + "]" * 50_000 + "\n"),
    "nested_jsonl": (".jsonl", '{"question": "q", "recommended": ' + "[" * 100_000 + "]" * 100_000 + "}\n"),
    "million_sources_json": (".json", _many_sources_json(1_000_000)),
    "thousand_sources_json": (".json", _many_sources_json(1000, with_links=True)),
    "thousand_sources_cnaps": (".txt", _many_sources_cnaps(1000)),
    "huge_integer": (".json", '{"question": ' + "9" * 100_000 + ', "recommended": [{"name": "X"}]}'),
    "question_is_a_list": (".json", '{"question": ["a", ["b"]], "recommended": [{"name": "MIMO-UNet"}]}'),
    "name_is_a_mapping": (".json", '{"question": "q", "recommended": [{"name": {"a": [1, 2]}}]}'),
    "links_not_a_mapping": (".json", '{"question": "q", "recommended": [{"name": "X", "links": [1, 2, 3]}]}'),
    "long_name": (".json", json.dumps({"question": "q", "recommended": [{"name": "N" * 100_000}]})),
    "long_question": (".txt", cnaps_document("why " * 20_000)),
    "name_with_link": (".txt", cnaps_document("How do I deblur?", "### Recommended AI Models:\n"
                                              "Model: Fast-Net https://evil.example/weights.exe\n")),
    "nul_bytes": (".txt", "\0" * 10_000),
    # Once a catastrophic backtrack: 26 blank lines took 6.6 s to tell YAML from CNAPS text, 27 twice that.
    "blank_lines": (".txt", "\n" * 100_000 + "x"),
    "blank_lines_with_spaces": (".txt", " \n" * 100_000),
    "blank_prompt_field": (".json", '{"prompt": "' + "\\n" * 200_000 + 'x", "question": "q"}'),
    "only_bom_and_noise": (".txt", "\ufeff" + "\u202e\u200b" * 1000),
}


def write_bundle(folder, name: str):
    """Write the hostile bundle ``name`` into ``folder`` and return its path."""
    suffix, text = HOSTILE_BUNDLES[name]
    path = folder / f"{name}{suffix}"
    path.write_text(text, encoding="utf-8")
    return path


#: Names, questions and summaries that try to become markup in an answer.
MARKUP_NAMES = ["<script>alert(1)</script>", "[x](javascript:alert(1))", "![img](evil.png)",
                "**Bold** _net_ `code` ~~gone~~ | a | b |", "# Heading-Net", "1. List-Net", "> Quote-Net",
                "<img src=x onerror=alert(1)>", "[S9]: javascript:alert(1)", "$$x^2$$ Math-Net", "&lt;b&gt;Net"]
MARKUP_QUESTION = ("My photo is blurry. ## References\n[Official weights](http://evil.example/weights.exe) "
                   "<script>alert(1)</script> <a href='http://evil.example'>here</a> How do I fix it?")


def markup_bundle_text() -> str:
    """A bundle whose question, names and summaries are all attempts at markup."""
    blocks = ["### Recommended AI Models:", "Model: Deblur-MIMO-UNet-RealBlur",
              "GitHub: https://github.com/chosj95/MIMO-UNet",
              "Summary: Deblurs photos. <script>alert(2)</script> [click](http://evil.example/x) ## Heading", "",
              "### Related Papers:"]
    for index, name in enumerate(MARKUP_NAMES):
        blocks += [f"Model: {name}", f"Paper: https://example.org/p{index}.pdf",
                   "Summary: <iframe src=http://evil.example></iframe> see [docs](http://evil.example/d).", ""]
    question = MARKUP_QUESTION.replace("\n", " ")
    return cnaps_document(question, "\n".join(blocks) + "\n")
