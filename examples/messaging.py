"""send, output, run_python and calls from the browser: the server and the browser's Python talking both ways.

    bokeh serve --show examples/messaging.py

- ``live.send(text)`` pushes a document to the browser, where ``on_server_data`` indexes it;
- the browser answers with ``bokeh_live.send(summary)``, which becomes ``live.output`` on the
  server (watched with ``on_change``) and fills the bar chart;
- ``await live.run_python("search(word)", word=...)`` queries the index the browser keeps,
  from a coroutine callback decorated ``@without_document_lock``;
- the browser's code pulls what it needs from the server when it starts:
  ``await bokeh_live.call("stopwords")`` calls a function the server exposes (``live.expose``).
"""
from __future__ import annotations

import html
import random

from bokeh.document import without_document_lock
from bokeh.io import curdoc
from bokeh.layouts import column, row
from bokeh.models import Button, ColumnDataSource, Div, TextInput
from bokeh.plotting import figure

from bokeh_live import BokehLive, LiveError

# Runs in the browser.
CODE = """\
import re
from collections import Counter, defaultdict

import bokeh_live

index = defaultdict(set)      # word -> numbers of the documents holding it
counts = Counter()
documents = []
stopwords = set(await bokeh_live.call("stopwords", "en"))  # asked of the server, once

@bokeh_live.on_server_data
def add(text):
    number = len(documents)
    documents.append(text)
    words = [w for w in re.findall(r"[a-z']+", text.lower()) if w not in stopwords]
    counts.update(words)
    for word in words:
        index[word].add(number)
    top = counts.most_common(8)
    bokeh_live.send({"documents": len(documents), "words": [w for w, _ in top], "counts": [c for _, c in top]})

def search(word):
    return [documents[n] for n in sorted(index.get(word.lower(), ()))]
"""

WORDS = ["alpha", "beta", "gamma", "delta", "server", "browser", "python", "bokeh", "worker", "plot", "data", "stream", "socket", "batch", "reply", "request"]

STOPWORDS = {"en": ["the", "a", "and", "of", "to", "in"]}

live = BokehLive(code=CODE, mode="compact", name="live", sizing_mode="stretch_width")


@live.expose
def stopwords(language):
    # Called from the browser: its arguments are untrusted input, and this message reaches it.
    if language not in STOPWORDS:
        raise ValueError(f"no stopwords for {str(language)[:20]!r}; try one of {sorted(STOPWORDS)}")
    return STOPWORDS[language]

send_button = Button(label="Send a document to the browser", button_type="primary", name="send")
query = TextInput(title="Ask the browser which documents hold a word", value="python", name="query")
search_button = Button(label="Search in the browser", name="search")
status = Div(text="The browser has no documents yet.", name="status")
found = Div(text="", name="found", sizing_mode="stretch_width")

bars = ColumnDataSource(data={"words": [], "counts": []}, name="bars")
chart = figure(x_range=WORDS, height=260, sizing_mode="stretch_width", toolbar_location=None,
               title="Most common words, counted in the browser")
chart.vbar(x="words", top="counts", source=bars, width=0.8)
chart.xaxis.major_label_orientation = 0.8


def send_document():
    text = " ".join(random.choices(WORDS + STOPWORDS["en"], k=random.randint(5, 12))).capitalize() + "."
    live.send(text)


def on_output(attr, old, summary):
    bars.data = {"words": summary["words"], "counts": summary["counts"]}
    status.text = f"The browser holds {summary['documents']} documents."


@without_document_lock
async def search():
    # Outside the document lock, so the browser's reply can arrive while we wait; models
    # are changed in a next-tick callback, which holds the lock again.
    doc = live.document
    try:
        hits = await live.run_python("search(word)", word=query.value, timeout=10)
        text = f"<b>{len(hits)} documents</b><ul>" + "".join(f"<li>{html.escape(h)}</li>" for h in hits) + "</ul>"
    except (LiveError, TimeoutError) as e:
        text = f"<b>Error</b><pre>{html.escape(str(e))}</pre>"
    doc.add_next_tick_callback(lambda: setattr(found, "text", text))


def start_search():
    # A button's callback cannot be a coroutine: it starts one as a next-tick callback.
    live.document.add_next_tick_callback(search)


send_button.on_click(send_document)
search_button.on_click(start_search)
live.on_change("output", on_output)

curdoc().add_root(column(
    Div(text="<h2>Messaging: send, output and run_python</h2>"),
    row(send_button, status), chart, row(query, search_button), found, live,
    sizing_mode="stretch_width",
))
curdoc().title = "bokeh_live: messaging"
