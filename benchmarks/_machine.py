"""What machine a benchmark ran on: the one CPU description every benchmark prints.

Speed figures only mean something next to the CPU they were measured on: float32 runs twice as wide on
AVX-512 as on AVX2, and bfloat16 is native only with AMX / AVX-512 BF16 (see :mod:`stx_tf.precision`).
``benchmarks/README.md`` keeps one table per :func:`cpu_kind`. Import it from a benchmark script as
``from _machine import cpu_line`` (the scripts run with ``benchmarks/`` on ``sys.path``).
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

#: The flags that set the float32 and bfloat16 speed of a CPU, in the order they are printed.
FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile", "amx_int8")


def cpu_info() -> dict:
    """``{"model", "cores", "mhz", "flags"}`` of this CPU (Linux ``/proc/cpuinfo``; ``"?"`` elsewhere)."""
    info = {"model": platform.processor() or "?", "cores": os.cpu_count() or 1, "mhz": 0.0, "flags": []}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    seen = set()
    for line in text.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key in seen:
            continue
        if key == "model name":
            info["model"] = value
        elif key == "cpu MHz":
            info["mhz"] = float(value)
        elif key == "flags":
            present = set(value.split())
            info["flags"] = [flag for flag in FLAGS if flag in present]
        else:
            continue
        seen.add(key)
    return info


def cpu_kind(flags=None) -> str:
    """``"AMX-bf16"``, ``"AVX-512"``, ``"AVX2-only"`` or ``"older"``: the table of ``benchmarks/README.md``."""
    flags = cpu_info()["flags"] if flags is None else flags
    if "amx_bf16" in flags:
        return "AMX-bf16"
    if "avx512f" in flags:
        return "AVX-512"
    return "AVX2-only" if "avx2" in flags else "older"


def cpu_line() -> str:
    """One line: model, cores, clock, kind and the flags that matter (avx2 / avx512 / amx), and oneDNN's
    instruction-set caps when ``ONEDNN_MAX_CPU_ISA`` / ``XLA_FLAGS=--xla_cpu_max_isa=...`` set them (how an
    AVX2-only CPU is emulated here: oneDNN runs TensorFlow's convolutions, XLA the engine's Winograd transforms)."""
    from stx_tf.precision import isa_cap

    info = cpu_info()
    clock = f" at {info['mhz'] / 1000:.1f} GHz" if info["mhz"] else ""
    flags = " ".join(info["flags"]) or "none of avx2/avx512/amx"
    line = f"CPU: {info['model']}, {info['cores']} cores{clock} ({cpu_kind(info['flags'])}), flags: {flags}"
    cap = isa_cap()
    line += f"; oneDNN capped at {cap.upper()} (ONEDNN_MAX_CPU_ISA)" if cap else ""
    xla = re.search(r"--xla_cpu_max_isa=(\w+)", os.environ.get("XLA_FLAGS", ""))
    return line + (f"; XLA capped at {xla.group(1).upper()} (XLA_FLAGS)" if xla else "")


def load_line() -> str:
    """The load average (other jobs share these machines): print it with every figure."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average: ?"
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def float32_peak(cores: int | None = None) -> float:
    """FLOP/s of this CPU in float32: cores × 2 FMA units (assumed) × SIMD lanes × 2 × clock."""
    info = cpu_info()
    lanes = 16 if "avx512f" in info["flags"] else 8
    return (cores or info["cores"]) * 2 * lanes * 2 * info["mhz"] * 1e6
