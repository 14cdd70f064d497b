"""``stx data …``: inspect sources, write competition-format TFRecords, make the embedded sample."""

from __future__ import annotations


def _inspect(args) -> int:
    from stx_tf.data.inspect import inspect_source

    print(inspect_source(args.path, grid_path=args.grid, n=args.n, size=args.image_size, skip_bad=args.skip_bad))
    return 0


def _to_tfrecords(args) -> int:
    from stx_tf.data import list_images, write_tfrecords

    files = list_images(args.folder, skip_bad=args.skip_bad)
    shards = write_tfrecords(
        files,
        args.out,
        prefix=args.prefix,
        per_shard=args.per_shard,
        n_shards=args.shards,
        target=args.target,
    )
    for shard in shards:
        print(shard)
    print(f"{len(files)} images in {len(shards)} shard(s)")
    return 0


def _sample(args) -> int:
    from stx_tf.data import embedded_sample

    print(embedded_sample(args.out))
    return 0


def _find(args) -> int:
    from stx_tf.data import find_competition_data

    found = find_competition_data(args.data_dir)
    monet, photo = found.counts()
    print(f"{found}\nmonet: {monet} images, photo: {photo} images")
    return 0


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="inspect data, write TFRecords, make the embedded sample")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p = sub.add_parser("inspect", help="count, shapes, names and a grid PNG of a folder / zip / TFRecords")
    p.add_argument("path", help="folder of images or .tfrec files, a glob, a .zip, or one file")
    p.add_argument("--grid", default="data_grid.png", help="grid PNG to write (default: data_grid.png)")
    p.add_argument("-n", type=int, default=16, help="images in the grid")
    p.add_argument("--image-size", type=int, default=256, help="decode size")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable files/records with a warning")
    p.set_defaults(func=_inspect)

    p = sub.add_parser("to-tfrecords", help="write a folder of images as competition-format TFRecords")
    p.add_argument("folder")
    p.add_argument("out")
    p.add_argument("--prefix", default="photo", help="shard prefix, e.g. photo -> photo00-352.tfrec")
    p.add_argument("--per-shard", type=int, default=None, help="records per shard")
    p.add_argument(
        "--shards", type=int, default=None, help="number of shards (default 20, like Kaggle's photos)"
    )
    p.add_argument("--target", default=None, help="the 'target' feature (default: the prefix)")
    p.add_argument("--skip-bad", action="store_true", help="skip non-image files with a warning")
    p.set_defaults(func=_to_tfrecords)

    p = sub.add_parser("sample", help="make (once) the embedded synthetic sample and print its folder")
    p.add_argument("--out", default=None, help="where to write it (default: the cache folder)")
    p.set_defaults(func=_sample)

    p = sub.add_parser("find", help="say where the competition data is (Kaggle, STX_DATA_DIR, sample)")
    p.add_argument("--data-dir", default=None)
    p.set_defaults(func=_find)
