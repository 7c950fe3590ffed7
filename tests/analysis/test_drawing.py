"""Pictures: what they show is checked through the matplotlib artists (titles, colors, marks)."""

import numpy as np
import pytest

import builders
from analysis import draw, draw_partition, draw_partitions, mincut, validate
from analysis.drawing import COLORS, bound_text
from tn.errors import PartitionError

plt = pytest.importorskip("matplotlib.pyplot")
from matplotlib.colors import to_hex


def red_lines(ax, dashed=None):
    return [line for line in ax.get_lines() if to_hex(line.get_color()) == COLORS["cut"]
            and (dashed is None or (line.get_linestyle() == "--") == dashed)]


def test_bound_text_is_exact_or_a_power():
    assert bound_text(12) == "12" and bound_text(2 ** 512) == "2^512" and bound_text(10 ** 12 + 1).startswith("~2^39.8")


def test_a_cut_through_input_legs_is_visible(tmp_path):
    net = builders.deep_convac(8, M=2, widths=4)
    cut = mincut(net, "odd-even")  # widths 4 >= M^2: the cheapest cut is the B legs themselves
    assert set(cut.cut) == {1, 3, 5, 7}
    ax = draw(net, cut, path=tmp_path / "d.png")
    assert len(red_lines(ax, dashed=True)) == 4 and not red_lines(ax, dashed=False)
    assert ax.get_title().startswith("bound 16 (log2 bound 4)")
    labels = {t.get_text() for t in ax.texts}
    assert {str(p) for p in range(8)} | {"y"} <= labels      # every position labeled
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["tensor on A's side", "tensor on B's side"]
    assert (tmp_path / "d.png").stat().st_size > 1000


def test_a_cut_hyperedge_is_one_mark():
    net = builders.deep_convac(16, M=2, widths=2)
    cut = mincut(net, "left-right")
    assert len(cut.cut) == 1 and cut.cut[0][0] == "h"
    ax = draw(net, cut)
    assert not red_lines(ax)               # no red spokes
    hyper = ax.collections[-1]             # the hyperedge dots, drawn last
    reds = [to_hex(c) == COLORS["cut"] for c in hyper.get_facecolors()]
    assert sum(reds) == 1 and len(reds) == 15
    plt.close(ax.figure)


def test_long_bounds_stay_in_the_title():
    net = builders.deep_convac(64, M=2, widths=2)
    ax = draw(net, mincut(net, "odd-even"))
    assert "bound 2^32" in ax.get_title() and "(32 legs)" in ax.get_title()
    plt.close(ax.figure)


def test_a_network_sum_is_one_panel_per_term(tmp_path):
    s = builders.mixed(builders.ModeTree.balanced(8), builders.ModeTree.mirror(8), M=2, widths=2)
    cut = mincut(s, "left-right")
    axes = draw(s, cut, path=tmp_path / "s.png")
    assert len(axes) == len(s.terms) == 4  # the root's half-channel exchange: four hybrid trees
    for ax, term_cut in zip(axes, cut.terms):
        assert f"bound {term_cut.bound} " in ax.get_title()
    assert (tmp_path / "s.png").exists()


def test_a_sum_of_many_terms_draws_the_first_few_and_says_so(tmp_path):
    from analysis.drawing import MAX_PANELS
    s = builders.mixed_dilated(16, 2, 2, dilations_b=(2, 1, 8, 4), mixture_levels=[2], swap=1, head=None)
    assert len(s.terms) > MAX_PANELS
    axes = draw(s, mincut(s, [0, 2, 4, 6, 8, 9, 12, 13]), path=tmp_path / "m.png")
    assert len(axes) == MAX_PANELS
    title = axes[0].figure._suptitle.get_text().replace("\n", " ")
    assert f"the first {MAX_PANELS} of {len(s.terms)} terms" in title


def test_draw_partition_on_an_image(tmp_path):
    net = builders.deep_convac(grid=(4, 4), M=2, widths=2)
    row = validate(net, ["checkerboard"])[0]
    ax = draw_partition(net, "checkerboard", row, path=tmp_path / "p.png")
    assert ax.get_title().replace("\n", " ") == ("checkerboard: bound 16, rank 16 (certified-tight); 4 of 4 level-1 windows "
                                                 "split (red)")
    image = ax.get_images()[0].get_array()
    A = {p for p in range(16) if image.ravel()[p] == 0}
    assert A == {0, 2, 5, 7, 8, 10, 13, 15}
    ax = draw_partition(net, "top-bottom")
    assert "bound 2; 0 of 4" in ax.get_title() and not red_lines(ax)
    plt.close("all")


def test_draw_partition_mirror_numbers_the_windows():
    net = builders.deep_convac(grid=(4, 4), M=2, widths=2, pooling="mirror")
    ax = draw_partition(net, np.eye(4, dtype=bool))
    numbers = [t.get_text() for t in ax.texts]
    assert numbers[:4] == ["0", "1", "1", "0"]       # pixel (0, c): the orbits {0, 3, 12, 15} and {1, 2, 13, 14}
    assert "numbers: each pixel's level-1 window" in ax.get_title().replace("\n", " ")
    plt.close(ax.figure)


def test_panel_of_partitions(tmp_path):
    net = builders.deep_convac(grid=(8, 8), M=2, widths=4)
    names = ["left-right", "top-bottom", "checkerboard", "random:0", "random:1"]
    fig = draw_partitions(net, names, path=tmp_path / "panel.png", ncols=3)
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles[2] == "checkerboard\nlog2 bound 32" and len(titles) == 5
    with pytest.raises(PartitionError, match="at least one"):
        draw_partitions(net, [])
