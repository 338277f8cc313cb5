"""A growable numpy array for streams whose length is not known in advance."""

from __future__ import annotations

import numpy as np


class Growable:
    """Append-only array of rows, ``shape (n, *row_shape)``, amortised O(1) appends."""

    def __init__(self, row_shape: tuple[int, ...] = (), dtype: type = np.float64) -> None:
        self._data: np.ndarray = np.empty((1024, *row_shape), dtype=dtype)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def extend(self, rows: np.ndarray) -> None:
        m = len(rows)
        if self._n + m > len(self._data):
            self._grow(max(2 * len(self._data), self._n + m))
        self._data[self._n : self._n + m] = rows
        self._n += m

    def _grow(self, capacity: int) -> None:
        shape = (capacity, *self._data.shape[1:])
        try:
            # In place (realloc: a large buffer is remapped, not copied, and its pages
            # stay mapped), which numpy allows only while no view of the buffer exists.
            self._data.resize(shape, refcheck=True)
        except ValueError:
            new = np.empty(shape, dtype=self._data.dtype)
            new[: self._n] = self._data[: self._n]
            self._data = new

    @property
    def view(self) -> np.ndarray:
        """The rows so far (a view: do not keep it across appends)."""
        return self._data[: self._n]
