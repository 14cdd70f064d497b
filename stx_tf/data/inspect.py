"""Summaries of a data source: count, shape, names, a grid picture."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stx_tf.data.sources import count_images, load_images, source_kind


@dataclass
class Inspection:
    source: str
    kind: str
    count: int
    shape: tuple
    names: list[str] = field(default_factory=list)
    value_range: tuple[float, float] = (0.0, 0.0)
    grid: Path | None = None

    def __str__(self) -> str:
        shown = ", ".join(self.names[:8]) + (" …" if len(self.names) > 8 else "")
        lines = [
            f"source: {self.source} ({self.kind})",
            f"images: {self.count}",
            f"shape: {self.shape} float32 in [{self.value_range[0]:.2f}, {self.value_range[1]:.2f}]",
            f"first names: {shown}",
        ]
        if self.grid:
            lines.append(f"grid: {self.grid}")
        return "\n".join(lines)


def inspect_source(
    source, grid_path=None, n: int = 16, size: int = 256, skip_bad: bool = False
) -> Inspection:
    """Count a source's images without decoding, decode the first ``n`` and draw them in a grid."""
    from stx_tf.viz import image_grid

    kind = source_kind(source)
    count = count_images(source, skip_bad=skip_bad)
    images, names = [], []
    for image, name in load_images(source, size=size, with_names=True, skip_bad=skip_bad).take(n):
        images.append(image.numpy())
        names.append(name.numpy().decode())
    low = min(float(i.min()) for i in images)
    high = max(float(i.max()) for i in images)
    if grid_path:
        image_grid(
            images,
            titles=names,
            signed=True,
            path=grid_path,
            suptitle=f"{Path(str(source)).name}: {count} images",
        )
    return Inspection(
        str(source),
        kind,
        count,
        tuple(images[0].shape),
        names,
        (low, high),
        Path(grid_path) if grid_path else None,
    )
