"""The report's HTML is the page its Jinja2 template made, byte for byte, on random reports.

The renderer writes the page with functions (Jinja2's import and the template's compilation were 40 ms of every
run's start). The template it replaced is kept here (its fixed head and style taken from the renderer), rendered
by Jinja2 with autoescape as it was: the obvious reference for every branch and every escaped value.
"""

from __future__ import annotations

from typing import Any

import jinja2
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_report.blocks import Block, Code, Image, Part, Raw, Table, Text, Tiles
from kernel_report.escape import TEXT_LIMIT, clip, html_value
from kernel_report.render_html import _BODY, _HEAD, data_uri, render_html
from markupsafe import Markup

# The page's fixed head and style are the renderer's own text; what Jinja2 filled in follows as the template
# had it.
_TEMPLATE = _HEAD + "{{ title }}" + _BODY + """{{ title }}</h1>
<p><span class="status status-{{ status_class }}">{{ status }}</span></p>
{% for line in lead %}<p>{{ line }}</p>
{% endfor %}
<nav><ol>{% for part in parts %}<li><a href="#s{{ loop.index }}">{{ part.title }}</a></li>{% endfor %}</ol></nav>
{% for part in parts %}
{% if part.first_detail %}<h2 class="details">Details</h2>
<p>The run's details, each folded: open one to read it.</p>
{% endif %}
{% if part.details %}<details class="part" id="s{{ loop.index }}"><summary><h2>{{ part.title }}</h2></summary>
{% else %}<section id="s{{ loop.index }}">
<h2>{{ part.title }}</h2>
{% endif %}
{% if part.source != "report" %}<p class="source">added by plugin {{ part.source }}</p>{% endif %}
{% for b in part.blocks %}
{% if b.kind == "text" %}<p>{{ b.text }}</p>
{% elif b.kind == "table" %}{% if b.caption %}<p class="caption">{{ b.caption }}</p>{% endif %}
<div class="scroll"><table><thead><tr>{% for h in b.header %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in b.rows %}<tr>{% for cell, num in row -%}
<td{% if num %} class="num"{% endif %}>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></div>
{% elif b.kind == "tiles" %}<div class="tiles">{% for label, value, note in b.tiles %}<div class="tile">
<div class="label">{{ label }}</div><div class="value">{{ value }}</div>
{% if note %}<div class="note">{{ note }}</div>{% endif %}</div>{% endfor %}</div>
{% elif b.kind == "code" %}{% if b.summary %}<details><summary>{{ b.summary }}</summary>{% endif %}
<pre class="{{ b.lang }}">{{ b.text }}</pre>{% if b.summary %}</details>{% endif %}
{% elif b.kind == "image" %}<p><img src="{{ b.uri }}" alt="{{ b.alt }}"></p>
{% elif b.kind == "raw" %}{% if b.html is not none %}{{ b.html }}
{% else %}<pre class="md">{{ b.markdown }}</pre>{% endif %}
{% endif %}
{% endfor %}
{% if part.details %}</details>{% else %}</section>{% endif %}
{% endfor %}
</body>
</html>
"""

_PAGE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                           keep_trailing_newline=True).from_string(_TEMPLATE)


def reference(title: str, status: str, lead: list[str], parts: list[Part]) -> str:
    """The page as the Jinja2 template rendered it."""
    return _PAGE.render(
        title=clip(title, 300), status=clip(status, 100),
        status_class=status if status in ("succeeded", "failed") else "other",
        lead=[clip(line, TEXT_LIMIT) for line in lead],
        parts=[{"title": clip(p.title, 300), "source": p.source, "blocks": [_block(b) for b in p.blocks],
                "details": p.details, "first_detail": p.details and not any(q.details for q in parts[:n])}
               for n, p in enumerate(parts)],
    )


def _block(block: Block) -> dict[str, Any]:
    if isinstance(block, Text):
        return {"kind": "text", "text": clip(block.text, TEXT_LIMIT)}
    if isinstance(block, Table):
        numeric = [[isinstance(c, int | float) and not isinstance(c, bool) for c in row] for row in block.rows]
        return {"kind": "table", "header": [html_value(h) for h in block.header],
                "rows": [[(html_value(c), num) for c, num in zip(row, nums, strict=True)]
                         for row, nums in zip(block.rows, numeric, strict=True)],
                "caption": clip(block.caption, TEXT_LIMIT)}
    if isinstance(block, Tiles):
        return {"kind": "tiles", "tiles": [(clip(label, 300), html_value(value), clip(note, 300))
                                           for label, value, note in block.items]}
    if isinstance(block, Code):
        return {"kind": "code", "text": block.text, "lang": block.lang if block.lang.isalnum() else "",
                "summary": clip(block.summary, 300)}
    if isinstance(block, Image):
        return {"kind": "image", "uri": data_uri(block), "alt": clip(block.alt, 300)}
    assert isinstance(block, Raw)
    return {"kind": "raw", "html": Markup(block.html) if block.html is not None else None,
            "markdown": block.markdown}


# Text with what HTML escapes, quotes, newlines and, now and then, more than a clip's length.
text = st.one_of(st.text(alphabet=st.sampled_from("ab <>&\"'\n\u00e9#*"), max_size=12),
                 st.text(alphabet="xy<&", min_size=301, max_size=320))
cells = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), text)
blocks: st.SearchStrategy[Block] = st.one_of(
    st.builds(Text, text),
    st.integers(0, 3).flatmap(lambda width: st.builds(
        Table, st.tuples(*[text] * width), st.lists(st.tuples(*[cells] * width), max_size=3).map(tuple), text)),
    st.builds(Tiles, st.lists(st.tuples(text, cells, text), max_size=3).map(tuple)),
    st.builds(Code, text, st.sampled_from(["", "mermaid", "a b", "<x>"]), text),
    st.builds(Image, st.binary(max_size=20), text, st.just("chart"), st.sampled_from(["png", "svg"])),
    st.builds(Raw, text, st.one_of(st.none(), text)),
)
parts = st.builds(Part, text, st.lists(blocks, max_size=4).map(tuple), st.sampled_from(["report", "iot", "<p>"]),
                  st.booleans())


@settings(max_examples=300, deadline=None)
@given(title=text, status=st.sampled_from(["succeeded", "failed", "skipped", "<b>"]), lead=st.lists(text, max_size=3),
       parts=st.lists(parts, max_size=4))
def test_the_page_is_the_one_the_jinja2_template_made(title: str, status: str, lead: list[str],
                                                      parts: list[Part]) -> None:
    assert render_html(title, status, lead, parts) == reference(title, status, lead, parts)
