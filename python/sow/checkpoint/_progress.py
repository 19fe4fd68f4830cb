"""The progress display of a checkpoint run: tqdm when installed, else one stderr line."""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["Progress", "human_bytes"]


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    return f"{n:.2f} TB"  # pragma: no cover


class Progress:
    """``update(nbytes)`` as chunks land; ``close()`` at the end. ``enabled=False``: silent."""

    def __init__(self, total: int, *, enabled: bool, label: str = "sow checkpoint") -> None:
        self.total, self.done, self.label = total, 0, label
        self.t0 = time.perf_counter()
        self._bar: Any = None
        self._last = 0.0
        self.enabled = enabled
        self._started = False

    def _start(self) -> None:
        # Lazily, at the first bytes: a run refused before writing shows no bar.
        self._started = True
        self.t0 = time.perf_counter()
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self._bar = tqdm(total=self.total, unit="B", unit_scale=True, unit_divisor=1000,
                         desc=self.label, file=sys.stderr, dynamic_ncols=True, mininterval=0.2)

    def update(self, n: int) -> None:
        if not self.enabled:
            self.done += n
            return
        if not self._started:
            self._start()
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.perf_counter()
        if now - self._last >= 0.5 or self.done >= self.total:
            self._last = now
            self._line(now)

    def _line(self, now: float) -> None:
        dt = max(now - self.t0, 1e-9)
        rate = self.done / dt
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        pct = 100.0 * self.done / self.total if self.total else 100.0
        eta_s = f"{eta:.0f} s" if eta != float("inf") else "?"
        sys.stderr.write(f"\r{self.label}: {human_bytes(self.done)} / {human_bytes(self.total)} "
                         f"({pct:5.1f} %), {rate / 1e9:.2f} GB/s, ETA {eta_s}   ")
        sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled or not self._started:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            self._line(time.perf_counter())
            sys.stderr.write("\n")
            sys.stderr.flush()
