"""The TF-free submission checker: is this zip what Kaggle's "I'm Something of a Painter Myself" accepts?

The competition (``gan-getting-started``) wants ONE zip of 7,000 to 10,000 images, each a 256×256 RGB
JPEG, flat (no folders). :func:`check_submission` verifies a zip the way Kaggle will (with PIL only, no
TensorFlow: it runs anywhere, fast) and returns a report with a summary.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

#: The competition's rules.
MIN_IMAGES = 7000
MAX_IMAGES = 10000
IMAGE_SIDE = 256
JPEG_SUFFIXES = (".jpg", ".jpeg")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# ------------------------------------------------------------------------------------------- checker
@dataclass
class CheckReport:
    """Result of :func:`check_submission`.

    Attributes:
        path: the zip.
        entries: entries in the zip.
        images: entries that are valid images of the required kind.
        problems: one line per problem (at most ``max_problems`` listed; ``problem_count`` counts all).
        problem_count: number of problems found.
        total_bytes: uncompressed size of all entries.
    """

    path: Path
    entries: int = 0
    images: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    total_bytes: int = 0
    min_count: int = MIN_IMAGES
    max_count: int = MAX_IMAGES

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, problem: str, limit: int) -> None:
        self.problem_count += 1
        if len(self.problems) < limit:
            self.problems.append(problem)

    def summary(self) -> str:
        head = f"{self.path}: {self.entries} entries, {self.images} valid {IMAGE_SIDE}x{IMAGE_SIDE} RGB JPEGs"
        if self.entries:
            head += f", {self.total_bytes / 1e6:.1f} MB"
        if self.ok:
            return f"{head} - OK (needs {self.min_count}-{self.max_count})"
        lines = [f"{head} - NOT a valid submission ({self.problem_count} problem(s)):"]
        lines += [f"  - {p}" for p in self.problems]
        if self.problem_count > len(self.problems):
            lines.append(f"  ... and {self.problem_count - len(self.problems)} more")
        return "\n".join(lines)


def _check_name(name: str, seen: set) -> str | None:
    if name.endswith("/"):
        return "is a folder entry (the zip must be flat)"
    if "/" in name or "\\" in name:
        return "is inside a folder (the zip must be flat)"
    if name in seen:
        return "appears twice"
    if not name.lower().endswith(JPEG_SUFFIXES):
        return "is not a .jpg/.jpeg file"
    if not _SAFE_NAME.match(name):
        return "has an odd name (hidden file, spaces or unusual characters)"
    return None


def _check_image(data: bytes, size: int) -> str | None:
    from PIL import Image, UnidentifiedImageError

    from stx_tf.data.images import is_jpeg_bytes

    if not is_jpeg_bytes(data):
        return "is not JPEG data"
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            if img.format != "JPEG":
                return f"is {img.format}, not JPEG"
            if img.mode != "RGB":
                return f"has mode {img.mode}, not RGB"
            if img.size != (size, size):
                return f"is {img.size[0]}x{img.size[1]}, not {size}x{size}"
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        return f"does not decode ({err})"
    return None


def check_submission(
    path,
    min_count: int = MIN_IMAGES,
    max_count: int = MAX_IMAGES,
    size: int = IMAGE_SIDE,
    max_problems: int = 20,
) -> CheckReport:
    """Check a submission zip: entry count, flat safe names, and that every entry decodes as a
    ``size``×``size`` RGB JPEG.

    Args:
        path: the zip.
        min_count, max_count: allowed number of images (7,000-10,000 for the competition; tests pass
            small limits).
        size: required image side.
        max_problems: problems listed in the report (all are counted).

    Returns:
        A :class:`CheckReport` (``report.ok``, ``report.summary()``); bad zips are reported, not raised.
    """
    path = Path(path)
    report = CheckReport(path=path, min_count=min_count, max_count=max_count)
    if not path.is_file():
        report.add("no such file", max_problems)
        return report
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        report.add(f"not a zip file ({err})", max_problems)
        return report
    seen: set[str] = set()
    with zf:
        infos = zf.infolist()
        report.entries = len(infos)
        for info in infos:
            name = info.filename
            problem = _check_name(name, seen)
            seen.add(name)
            if problem is None:
                try:
                    data = zf.read(info)
                except (zipfile.BadZipFile, OSError, EOFError) as err:
                    problem = f"cannot be read from the zip ({err})"
                else:
                    report.total_bytes += len(data)
                    problem = _check_image(data, size)
            if problem:
                report.add(f"{name!r} {problem}", max_problems)
            else:
                report.images += 1
    if not min_count <= report.images <= max_count:
        report.add(
            f"{report.images} valid images; the competition needs {min_count} to {max_count}", max_problems
        )
    return report
