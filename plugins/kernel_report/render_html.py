"""The HTML renderer: one self-contained page (inline CSS, charts as data: URIs, no scripts).

Every value is escaped with MarkupSafe's ``escape`` (what Jinja2's autoescape calls) as it is written;
only the ``html`` a plugin gives for its own section is inserted as it is. The Content-Security-Policy
forbids scripts and remote loads, as a second line of defence.

The page is written by the functions below, not by a Jinja2 template: importing Jinja2 and compiling the
template took about 40 ms of every run's 0.55 s start (docs/cli.md#start-up), for a page whose shape is
fixed. ``tests/test_report_html.py`` holds the output to that template's, rendered by Jinja2, on random
reports: the same bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from markupsafe import Markup, escape

from kernel_report.blocks import Block, Cell, Code, Image, Part, Raw, Table, Text, Tiles
from kernel_report.escape import TEXT_LIMIT, clip, html_value

_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>"""
_BODY = """</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1d232a; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 1.8em; }
nav ol { display: flex; flex-wrap: wrap; gap: .2em 1.2em; padding: 0; margin: .4em 0; list-style: none;
         font-size: .9em; }
table { border-collapse: collapse; margin: .6em 0; }
th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; max-width: 40em; }
th { background: #f3f5f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; overflow-wrap: normal; }
.scroll { overflow-x: auto; max-width: 100%; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(14em, 1fr)); gap: .8em; margin: .8em 0; }
.tile { border: 1px solid #d0d7de; border-radius: .5em; padding: .6em .9em; background: #f6f8fa; }
.tile .value { font-size: 1.5em; font-weight: 600; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.tile .label, .tile .note { color: #57606a; font-size: .9em; }
details.part { border-top: 1px solid #d0d7de; padding: .3em 0; }
details.part > summary { cursor: pointer; } details.part > summary h2 { display: inline; border: 0; font-size: 1.2em; }
h2.details { color: #57606a; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
img { max-width: 100%; height: auto; } .caption { color: #57606a; }
.status { display: inline-block; padding: .1em .6em; border-radius: .3em; color: #fff; background: #6e7781; }
.status-succeeded { background: #1a7f37; } .status-failed { background: #cf222e; }
.source { color: #57606a; font-size: .85em; }
</style>
</head>
<body>
<h1>"""
_STATUS_CLASSES = ("succeeded", "failed")
_DETAILS = '<h2 class="details">Details</h2>\n<p>The run\'s details, each folded: open one to read it.</p>\n'


def render_html(title: str, status: str, lead: Sequence[str], parts: Sequence[Part]) -> str:
    title = escape(clip(title, 300))
    status_class = status if status in _STATUS_CLASSES else "other"
    out = [_HEAD, title, _BODY, title, '</h1>\n<p><span class="status status-', escape(status_class), '">',
           escape(clip(status, 100)), "</span></p>\n"]
    out += [f"<p>{escape(clip(line, TEXT_LIMIT))}</p>\n" for line in lead]
    titles = [escape(clip(part.title, 300)) for part in parts]
    out.append("\n<nav><ol>")
    out += [f'<li><a href="#s{n}">{title}</a></li>' for n, title in enumerate(titles, start=1)]
    out.append("</ol></nav>\n")
    detailed = False
    for n, (part, title) in enumerate(zip(parts, titles, strict=True), start=1):
        out.append("\n")
        if part.details and not detailed:  # the first folded part
            out.append(_DETAILS)
        detailed = detailed or part.details
        out.append("\n")
        if part.details:
            out.append(f'<details class="part" id="s{n}"><summary><h2>{title}</h2></summary>\n')
        else:
            out.append(f'<section id="s{n}">\n<h2>{title}</h2>\n')
        out.append("\n")
        if part.source != "report":
            out.append(f'<p class="source">added by plugin {escape(part.source)}</p>')
        out.append("\n")
        for block in part.blocks:
            out.append("\n")
            _block(out, block)
            out.append("\n")
        out.append("\n</details>\n" if part.details else "\n</section>\n")
    out.append("\n</body>\n</html>\n")
    return "".join(out)


def data_uri(image: Image) -> str:
    mime = "image/svg+xml" if image.format == "svg" else "image/png"  # in an <img>: an SVG runs no script
    return f"data:{mime};base64," + base64.b64encode(image.data).decode("ascii")


def _numeric(cell: Cell) -> bool:
    return isinstance(cell, int | float) and not isinstance(cell, bool)


def _block(out: list[str], block: Block) -> None:
    """One block's HTML, appended to ``out``."""
    if isinstance(block, Text):
        out.append(f"<p>{escape(clip(block.text, TEXT_LIMIT))}</p>\n")
    elif isinstance(block, Table):
        if block.caption:
            out.append(f'<p class="caption">{escape(clip(block.caption, TEXT_LIMIT))}</p>')
        out.append('\n<div class="scroll"><table><thead><tr>')
        out += [f"<th>{escape(html_value(h))}</th>" for h in block.header]
        out.append("</tr></thead>\n<tbody>")
        for row in block.rows:
            out.append("<tr>")
            out += [f'<td class="num">{escape(html_value(c))}</td>' if _numeric(c) else
                    f"<td>{escape(html_value(c))}</td>" for c in row]
            out.append("</tr>\n")
        out.append("</tbody></table></div>\n")
    elif isinstance(block, Tiles):
        out.append('<div class="tiles">')
        for label, value, note in block.items:
            out.append(f'<div class="tile">\n<div class="label">{escape(clip(label, 300))}</div>'
                       f'<div class="value">{escape(html_value(value))}</div>\n')
            if note_text := clip(note, 300):
                out.append(f'<div class="note">{escape(note_text)}</div>')
            out.append("</div>")
        out.append("</div>\n")
    elif isinstance(block, Code):
        summary = clip(block.summary, 300)
        lang = block.lang if block.lang.isalnum() else ""
        if summary:
            out.append(f"<details><summary>{escape(summary)}</summary>")
        out.append(f'\n<pre class="{escape(lang)}">{escape(block.text)}</pre>')
        out.append("</details>\n" if summary else "\n")
    elif isinstance(block, Image):
        out.append(f'<p><img src="{escape(data_uri(block))}" alt="{escape(clip(block.alt, 300))}"></p>\n')
    elif isinstance(block, Raw):
        if block.html is not None:
            out.append(f"{Markup(block.html)}\n\n")
        else:
            out.append(f'<pre class="md">{escape(block.markdown)}</pre>\n')
    else:
        raise TypeError(f"unknown block {block!r}")
