"""The one rule for cutting rows into training batches, shared by every trainer."""

from __future__ import annotations


def batch_sizes(n_rows: int, batch_size: int) -> list[int]:
    """Sizes of consecutive batches covering ``n_rows`` rows, ``batch_size`` at most each.

    A trailing batch of a single row is merged into the previous batch (batch norm cannot
    normalise one row), so no row is ever dropped; a lone row stays a batch of one.
    """
    if n_rows <= 0:
        return []
    sizes = [batch_size] * (n_rows // batch_size)
    if n_rows % batch_size:
        sizes.append(n_rows % batch_size)
    if len(sizes) > 1 and sizes[-1] == 1:
        last = sizes.pop()
        sizes[-1] += last
    return sizes
