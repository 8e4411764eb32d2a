"""The Chinese edition's catalogues: complete, markup kept, terms as the glossary fixes them.

The build itself (``tests/test_editions.py``) fails on a message the catalogues lack; these
tests read the catalogues alone, in a second.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib

import pytest

from scaling_utils.report import edition, translate
from tests.conftest import ROOT

LOCALE = ROOT / "locale" / "zh_CN" / "LC_MESSAGES"
GLOSSARY = ROOT / "locale" / "zh_CN" / "glossary.toml"


def _catalogues():
    from babel.messages import pofile

    for po in sorted(LOCALE.rglob("*.po")):
        with po.open("rb") as f:
            yield po, pofile.read_po(f)


def test_there_is_a_catalogue_per_page_and_one_for_the_outputs():
    pages = {p for p in edition._pages(ROOT)}
    have = {po.relative_to(LOCALE).with_suffix("").as_posix() for po, _ in _catalogues()}
    assert pages <= have, f"pages without a catalogue: {sorted(pages - have)} (run make locale)"
    assert "outputs" in have
    assert have - pages == {"outputs"}, f"catalogues of no page: {sorted(have - pages - {'outputs'})}"


def test_every_message_is_translated_none_fuzzy_and_markup_is_kept():
    problems = edition.catalogue_problems(ROOT)
    assert problems == [], "\n".join(problems[:40])


def test_msgfmt_statistics_say_all_translated():
    """GNU msgfmt's own count, where it is installed (Debian's gettext package)."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt not installed (Debian's gettext package); the babel check above still ran")
    for po, _ in _catalogues():
        out = subprocess.run([msgfmt, "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert "fuzzy" not in out.stderr and "untranslated" not in out.stderr, f"{po.name}: {out.stderr}"


def _prose(text: str) -> str:
    """A message without its roles, math, code and link targets (where a term may appear by name only)."""
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", text)
    text = re.sub(r"\$[^$]*\$|`[^`]*`|\]\([^)]*\)", " ", text)
    return text


def test_translations_use_the_glossary_terms():
    terms = [t for t in tomllib.loads(GLOSSARY.read_text(encoding="utf-8"))["term"] if t.get("check")]
    assert len(terms) >= 15
    problems = []
    for po, catalog in _catalogues():
        for msg in catalog:
            if not msg.id or msg.string == msg.id:
                continue
            for term in terms:
                if re.match(r"[A-Za-z]", msg.string) and re.search(term["pattern"], msg.string, re.I):
                    continue  # a cell that names the English term (the guide's glossary table)
                if re.search(term["pattern"], _prose(msg.id), re.I) and term["zh"] not in msg.string:
                    problems.append(f"{po.name}: {term['en']!r} is not {term['zh']!r} in {msg.string[:60]!r}")
    assert problems == [], "\n".join(problems[:30])


def test_the_glossary_terms_are_those_of_the_article():
    """The issue's words: the article's 算力, 参数规模, 数据规模, 等高线; loss and power law kept in English."""
    zh = {t["en"]: t["zh"] for t in tomllib.loads(GLOSSARY.read_text(encoding="utf-8"))["term"]}
    assert zh["compute"] == "算力"
    assert zh["number of parameters, model size"] == "参数规模"
    assert zh["dataset size, training tokens"] == "数据规模"
    assert zh["contour, iso-loss contour"] == "等高线"
    assert zh["loss"] == "loss" and zh["power law"] == "power law"


@pytest.mark.parametrize(
    ("text", "message", "fields"),
    [
        ("approach 2, a = 0.52", "approach {0}, a = {1}", ["2", "0.52"]),
        ("loss at $10^{13}$ FLOPs", "loss at {0} FLOPs", ["$10^{13}$"]),
        ("8.8 × 10¹³ tokens", "{0} tokens", ["8.8 × 10¹³"]),
        ("models up to 110k", "models up to {0}", ["110k"]),
        ("L3-d40 trunk", "L3-d40 trunk", []),  # a name with digits in it stays whole
        ("a {brace}", "a {{brace}}", []),
    ],
)
def test_output_messages_abstract_numbers_and_math(text, message, fields):
    assert translate.template(text) == (message, fields)
    assert translate.fill(message, fields) == text


def test_a_translated_figure_is_restored_after_drawing():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4], label="approach 2")
    ax.set_xlabel("compute (FLOPs)")
    ax.set_xticks([1, 2], ["small", "large"])
    ax.legend()
    catalogue = {"compute (FLOPs)": "算力 (FLOPs)", "approach {0}": "方法 {0}", "small": "小", "large": "大"}
    tr = translate._Translator("zh_CN", catalogue, None)
    with translate._translated_figure(fig, tr):
        fig.canvas.draw()
        assert ax.get_xlabel() == "算力 (FLOPs)"
        assert ax.get_legend().get_texts()[0].get_text() == "方法 2"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["小", "大"]
        assert translate.CJK_FONT in ax.xaxis.label.get_fontfamily()
    fig.canvas.draw()
    assert ax.get_xlabel() == "compute (FLOPs)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["small", "large"]
    assert translate.CJK_FONT not in ax.xaxis.label.get_fontfamily()
    assert tr.seen == {"compute (FLOPs)": True, "approach {0}": True, "small": True, "large": True}


def test_a_missing_translation_is_recorded_and_shown_in_english(tmp_path):
    record = tmp_path / "strings.jsonl"
    tr = translate._Translator("zh_CN", {}, record)
    assert tr("budgets used") == "budgets used"
    assert '"translated": false' in record.read_text()


def test_a_table_is_translated_in_headings_labels_and_text_cells_only():
    import pandas as pd

    df = pd.DataFrame({"sweep": ["size sweep", "L3-d40"], "loss (nats)": [1.5, 2.0], "warmup": ["short", "x"]})
    df = df.set_index("sweep")  # pandas 3 keeps text in a string dtype, not object: both are translated
    words = {"size sweep": "规模扫描实验", "loss (nats)": "loss (nats)", "short": "短"}
    out = translate._translated_table(df, lambda s: words.get(s, s))
    assert list(out.index) == ["规模扫描实验", "L3-d40"]
    assert list(out["loss (nats)"]) == [1.5, 2.0]
    assert list(out["warmup"]) == ["短", "x"]


def test_compiled_catalogues_leave_fuzzy_entries_out(tmp_path):
    from babel.messages import mofile, pofile
    from babel.messages.catalog import Catalog

    src = tmp_path / "locale" / "zh_CN" / "LC_MESSAGES"
    src.mkdir(parents=True)
    cat = Catalog(locale="zh_CN")
    cat.add("done", "完成")
    cat.add("changed", "旧的", flags=["fuzzy"])
    with (src / "page.po").open("wb") as f:
        pofile.write_po(f, cat)
    assert edition.compile_catalogues(tmp_path, tmp_path / "out") == 1
    with (tmp_path / "out" / "zh_CN" / "LC_MESSAGES" / "page.mo").open("rb") as f:
        compiled = mofile.read_mo(f)
    assert compiled.get("done").string == "完成"
    assert compiled.get("changed") is None or not compiled.get("changed").string


def test_the_edition_configs_turn_execution_off_and_set_the_language(tmp_path):
    import yaml

    en = yaml.safe_load(edition.edition_config(ROOT, tmp_path, "en").read_text(encoding="utf-8"))
    zh = yaml.safe_load(edition.edition_config(ROOT, tmp_path, "zh_CN").read_text(encoding="utf-8"))
    for cfg in (en, zh):
        assert cfg["execute"]["execute_notebooks"] == "off"
        assert cfg["sphinx"]["config"]["bilingual_executed"].endswith("executed")
        assert "scaling_utils.report.bilingual" in cfg["sphinx"]["extra_extensions"]
    assert zh["sphinx"]["config"]["language"] == "zh_CN" and "language" not in en["sphinx"]["config"]
    assert zh["title"] != en["title"]


def test_the_web_font_draws_every_chinese_character_of_the_catalogues():
    from fontTools.ttLib import TTFont

    from scaling_utils.report.webfont import FONT_FILE, is_cjk

    cmap = set(TTFont(ROOT / "_static" / "fonts" / FONT_FILE).getBestCmap())
    used = {ch for po, _ in _catalogues() for ch in po.read_text(encoding="utf-8") if is_cjk(ch)}
    missing = sorted(ch for ch in used if ord(ch) not in cmap)
    assert missing == [], f"characters the font lacks (run make font): {''.join(missing)}"


PAGE = """---
jupytext:
  text_representation: {extension: .md, format_name: myst, format_version: 0.13}
kernelspec: {display_name: Python 3, language: python, name: python3}
---

# A page

```{code-cell} ipython3
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.set_xlabel("compute")
```
"""


def test_a_kernel_whose_translation_set_up_fails_stops_the_execution(tmp_path):
    # IPython only logs a start-up line that raises; the kernel then draws every figure in
    # English alone, and the Chinese edition would show it unsaid. Here the set-up cannot
    # find the book's font (the locale folder points into an empty tree), so it raises.
    (tmp_path / "page.md").write_text(PAGE, encoding="utf-8")
    env = dict(os.environ) | {
        translate.LANGS_ENV: "zh_CN",
        translate.LOCALE_ENV: str(tmp_path / "locale"),
        "IPYTHONDIR": str(tmp_path / ".ipython"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    with pytest.raises(RuntimeError, match=r"page\.md: outputs not drawn.*cell 1: a figure without image/x-zh-png"):
        edition._execute_one(str(tmp_path), "page", str(tmp_path / "out"), env)
    assert not (tmp_path / "out" / "page.ipynb").exists()
