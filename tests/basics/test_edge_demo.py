"""The edge demo's responses and its figure, read back through the figure object."""

import torch
from matplotlib.layout_engine import ConstrainedLayoutEngine

from convlab.basics.edge_demo import edge_figure, edge_responses
from convlab.data.edges import edge_image

TITLES = ["input", "K = [1, -1]", "K transposed"]


def test_responses_are_the_image_and_its_vertical_and_horizontal_edges():
    image = edge_image()
    responses = edge_responses(image)
    assert list(responses) == TITLES
    assert responses["input"] is image
    vertical = torch.zeros(6, 7)
    vertical[:, 1], vertical[:, 5] = 1.0, -1.0  # white→black, black→white
    assert torch.equal(responses["K = [1, -1]"], vertical)
    assert torch.equal(responses["K transposed"], torch.zeros(5, 8))  # no horizontal edge
    # Another kernel, and its transpose, are used as given.
    other = edge_responses(image, torch.tensor([[1.0, 0.0, -1.0]]))
    assert other["K = [1, -1]"].shape == (6, 6) and other["K transposed"].shape == (4, 8)
    assert other["K = [1, -1]"][0].tolist() == [1.0, 1.0, 0.0, 0.0, -1.0, -1.0]
    turned = edge_responses(edge_image().T)["K transposed"]  # horizontal edges, (7, 6)
    assert turned[:, 0].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0]


def test_figure_has_one_row_per_image_with_the_input_and_both_responses():
    one_edge = edge_image(dark_from=3, dark_to=8) * 2  # values 0 and 2, one white→black edge
    figure = edge_figure({"example": edge_image(), "one edge": one_edge})
    assert tuple(figure.get_size_inches()) == (8.0, 2 * 2.6)
    assert isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
    axes = figure.axes
    assert len(axes) == 6
    one_response = torch.zeros(6, 7)
    one_response[:, 2] = 2.0
    expected = [
        # title, colour map, (vmin, vmax): responses centred on 0, image
        ("example (6, 8)", "gray", (0.0, 1.0), edge_image()),
        ("K = [1, -1] (6, 7)", "RdBu_r", (-1.0, 1.0), None),
        ("K transposed (5, 8)", "RdBu_r", (-1e-8, 1e-8), torch.zeros(5, 8)),  # all zero
        ("one edge (6, 8)", "gray", (0.0, 2.0), one_edge),
        ("K = [1, -1] (6, 7)", "RdBu_r", (-2.0, 2.0), one_response),  # only positive
        ("K transposed (5, 8)", "RdBu_r", (-1e-8, 1e-8), torch.zeros(5, 8)),
    ]
    for ax, (title, cmap, limits, image) in zip(axes, expected, strict=True):
        assert ax.get_title() == title
        assert ax.title.get_fontsize() == 9
        (shown,) = ax.get_images()
        assert shown.get_cmap().name == cmap
        assert shown.get_clim() == limits
        if image is not None:
            assert torch.equal(torch.as_tensor(shown.get_array()), image)
        assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []


def test_figure_uses_the_kernel_given_and_one_row_keeps_its_grid():
    figure = edge_figure({"one": edge_image()}, kernel=torch.tensor([[1.0, 0.0, -1.0]]))
    assert tuple(figure.get_size_inches()) == (8.0, 2.6)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == ["one (6, 8)", "K = [1, -1] (6, 6)", "K transposed (4, 8)"]
