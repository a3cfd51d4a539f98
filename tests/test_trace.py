"""The trace prints the lecture's table: the worked example's values by lecture names, wide
layers elided with a note, and HTML for Jupyter that parses."""
from html.parser import HTMLParser

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.trace import Trace


@pytest.fixture
def worked_example(backend):
    net = fm.MLP([3, 2, 1], activation="relu", output="relu", loss="l2", backend=backend)
    net.set_weights([
        np.array([[1.0, 1.0], [0.25, 0.5], [0.75, 0.125], [0.75, 0.25]]),
        np.array([[0.5], [0.5], [0.125]]),
    ])
    return net.trace([4, -8, 4], 2)


def rows(text):
    """{label: cells} for every table row of the printed trace, per section title."""
    sections, title = {}, None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            title = line
            sections[title] = {}
        elif line.strip() and not line.strip().startswith("("):
            label, *cells = line.split()
            if label == "0" and cells[:1] == ["(bias)"]:
                label, cells = "0 (bias)", cells[1:]
            sections[title][label] = cells
    return sections


def test_worked_example_table_holds_the_lecture_values(worked_example):
    text = str(worked_example)
    table = rows(text)
    assert table["layer 1"]["x_j^(1)"] == ["0", "3"]  # f_a = 0, f_b = 3
    assert table["layer 1"]["delta_j^(1)"] == ["0", "-0.140625"]  # delta_b
    assert table["layer 2 (output)"]["x_j^(2)"] == ["0.875"]  # h
    assert table["layer 2 (output)"]["delta_j^(2)"] == ["-1.125"]  # delta_c
    assert table["layer 0 (input)"]["x_j^(0)"] == ["4", "-8", "4"]
    assert "loss l = 0.6328125" in text
    gradient = table["gradient dl/dw_ij^(1) = x_i^(0) delta_j^(1)"]
    # dl/dw_3b = x_3 delta_b = 4 * -0.140625, the step of the lecture's w_3b update
    assert gradient["3"] == ["0", "-0.5625"]
    assert gradient["0 (bias)"] == ["0", "-0.140625"]
    assert table["gradient dl/dw_ij^(2) = x_i^(1) delta_j^(2)"]["2"] == ["-3.375"]  # f_b delta_c
    assert "..." not in text and "not shown" not in text


def test_repr_keeps_the_dataclass_fields(worked_example):
    assert repr(worked_example).startswith("Trace(x=[array(")
    assert [f for f in Trace.__dataclass_fields__] == ["x", "s", "delta", "grad", "loss"]


def test_wide_network_is_elided_and_says_what(backend):
    net = fm.MLP([300, 200, 10], loss="cross_entropy", seed=1, backend=backend, dtype="float32")
    trace = net.trace(np.linspace(-1, 1, 300), 4)
    text = str(trace)
    assert len(text) < 8000
    assert "(units j = 5..196 of 1..200 not shown)" in text
    assert "(units j = 5..296 of 1..300 not shown)" in text
    assert "(rows i = 6..294 of 0..300 not shown)" in text
    assert "(units j = 5..6 of 1..10 not shown)" in text
    # the last unit of a wide layer is still there, with its value
    last = rows(text)["layer 1"]["x_j^(1)"][-1]
    assert float(last) == pytest.approx(float(trace.x[1][-1]), rel=1e-5)
    wider = trace.table(columns=20, rows=30)
    assert "(units j = 11..190 of 1..200 not shown)" in wider and len(wider) > len(text)


def test_table_limits_are_checked(worked_example):
    with pytest.raises(ValueError, match="columns must be an integer >= 2"):
        worked_example.table(columns=1)
    with pytest.raises(ValueError, match="rows"):
        worked_example.table(rows="many")


class _Checker(HTMLParser):
    """Records the open-tag stack; fails on a closing tag that does not match."""

    VOID = {"br", "hr", "img", "meta"}

    def __init__(self):
        super().__init__()
        self.stack, self.counts, self.text = [], {}, []

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("sizes", [[3, 2, 1], [70, 40, 3]])
def test_html_is_well_formed(sizes):
    net = fm.MLP(sizes, activation="relu", output="relu", seed=0)
    trace = net.trace(np.ones(sizes[0]), np.ones(sizes[-1]))
    checker = _Checker()
    checker.feed(trace._repr_html_())
    checker.close()
    assert checker.stack == []
    L = len(sizes) - 1
    assert checker.counts["table"] == 2 * L + 1  # one per layer 0..L, one gradient per layer
    assert checker.counts["caption"] == 2 * L + 1
    text = "".join(checker.text)
    assert "δ" in text and "∂ℓ/∂w" in text
    assert ("not shown" in text) == (max(sizes) > 8)


def test_worked_example_html_values(worked_example):
    checker = _Checker()
    checker.feed(worked_example._repr_html_())
    cells = [t for t in checker.text if t.strip()]
    for value in ["-0.140625", "0.875", "-1.125", "-0.5625"]:
        assert value in cells
    assert "loss ℓ = 0.6328125" in cells


def test_the_docs_show_what_the_worked_example_prints():
    import pathlib
    import re

    page = pathlib.Path(__file__).resolve().parent.parent / "docs" / "lecture" / "worked_example.md"
    section = page.read_text().split("## The trace as a table", 1)[1]
    printed = [text for language, text in re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S) if language == "text"][0]
    net = fm.MLP([3, 2, 1], activation="relu", output="relu", loss="l2")
    net.set_weights([
        np.array([[1.0, 1.0], [0.25, 0.5], [0.75, 0.125], [0.75, 0.25]]),
        np.array([[0.5], [0.5], [0.125]]),
    ])
    assert str(net.trace([4, -8, 4], 2)).rstrip() == printed.rstrip()
