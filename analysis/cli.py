"""``tn-mincut``: min-cut rank bounds (and, with --validate, true ranks) of a network's partitions.

Examples (shell)::

    tn-mincut                                   # = the default command below
    tn-mincut convac --tree balanced --N 16 --M 2 --widths 2 \\
        --partition left-right --partition odd-even --partition blocks:4 --validate
    tn-mincut --load net.tnet --partition 0,1,2,3 --json
    tn-mincut deep_convac --N 16 --M 2 --widths 2 --all-balanced

Networks come from ``--load FILE`` or from a builder of :func:`builders.get` with generic flags
(--tree, --N, --M, --widths as a comma list, --classes, --seed), matched to the builder's signature.
Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import sys

from tn.errors import TNError

DEFAULT_ARGS = ["convac", "--tree", "balanced", "--N", "16", "--M", "2", "--widths", "2", "--partition", "left-right",
                "--partition", "odd-even", "--partition", "blocks:4", "--validate"]
DEFAULT_PARTITIONS = ("left-right", "odd-even")
TREES = ("balanced", "interleaved", "mirror", "flat", "random")


class UsageError(Exception):
    """Bad command-line input (reported in one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tn-mincut", description="Min-cut bounds on matricization ranks of a tensor network "
                "(no arguments: " + " ".join(DEFAULT_ARGS) + ").")
    p.add_argument("builder", nargs="?", help="builder name (see builders.available()), or omit with --load")
    p.add_argument("--load", metavar="FILE", help="a network saved with .save() (.tnet)")
    g = p.add_argument_group("builder flags (used when the builder takes them)")
    g.add_argument("--tree", default="balanced",
                   help=f"mode tree: {', '.join(TREES)} or nested tuples; two trees joined by '+' for mixed")
    g.add_argument("--N", type=int, default=16, help="number of input positions")
    g.add_argument("--M", type=int, default=2, help="representation size (input leg dimension)")
    g.add_argument("--widths", default="2", help="width(s): one int or a comma list (one per level)")
    g.add_argument("--classes", type=int, default=1)
    g.add_argument("--seed", type=int, default=0)
    q = p.add_argument_group("queries")
    q.add_argument("--partition", action="append", metavar="P",
                   help="left-right, odd-even, blocks:K, random:SEED or legs '0,1,2' / '0,1|2,3' (repeatable)")
    q.add_argument("--all-balanced", action="store_true", help="every balanced partition (N <= 20)")
    q.add_argument("--method", default="auto", help="cut method: auto, tree, flow")
    q.add_argument("--flow-func", default=None, help="networkx flow function (e.g. preflow_push, dinitz)")
    q.add_argument("--validate", action="store_true", help="also compute rank, tightness and entropy")
    q.add_argument("--spectrum-method", default="auto", help="auto, dense or gram")
    q.add_argument("--json", action="store_true", help="print a JSON list, one object per partition")
    q.add_argument("--draw", metavar="FILE.png", help="draw the network and the first partition's cut")
    return p


def _tree(text, N, seed):
    from builders import ModeTree
    if text in TREES:
        return ModeTree.random(N, seed=seed) if text == "random" else getattr(ModeTree, text)(N)
    try:
        nested = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise UsageError(f"--tree {text!r}: expected one of {', '.join(TREES)} or nested tuples like "
                         "'((0, 1), (2, 3))'") from None
    return ModeTree.from_nested(nested)  # its TreeError names what is wrong with the tree


def _widths(text):
    try:
        values = [int(t) for t in text.split(",")]
    except ValueError:
        raise UsageError(f"--widths {text!r}: expected an int or a comma list of ints") from None
    return values[0] if len(values) == 1 else values


def build_network(args):
    """The network the arguments describe (--load, or a builder called with the flags it takes)."""
    import tn
    if args.load:
        if args.builder:
            raise UsageError("give either a builder name or --load FILE, not both")
        return tn.load(args.load)
    import builders
    fn = builders.get(args.builder)
    params = inspect.signature(fn).parameters
    trees = args.tree.split("+")
    values = {"N": args.N, "M": args.M, "widths": _widths(args.widths), "classes": args.classes,
              "seed": args.seed, "Z": _widths(args.widths)}
    if "tree" in params:
        values["tree"] = _tree(args.tree, args.N, args.seed)
    if "tree_a" in params:
        if len(trees) != 2:
            raise UsageError(f"builder {args.builder!r} needs two trees: --tree A+B (e.g. balanced+mirror)")
        values["tree_a"], values["tree_b"] = (_tree(t, args.N, args.seed) for t in trees)
    kwargs = {k: v for k, v in values.items() if k in params}
    try:
        return fn(**kwargs)
    except TypeError as exc:
        raise UsageError(f"builder {args.builder!r} cannot be built from these flags: {exc}") from None


def _progress(items):
    try:
        from tqdm import tqdm
    except ImportError:
        def counted():
            for k, item in enumerate(items, 1):
                if k % 500 == 0 or k == len(items):
                    print(f"\r{k}/{len(items)} partitions", end="" if k < len(items) else "\n", file=sys.stderr)
                yield item
        return counted()
    return tqdm(items, file=sys.stderr, unit="partition")


def run(args) -> list:
    """Answer the queries: a list of JSON-ready dicts, one per partition."""
    from .bounds import mincut
    from .partitions import balanced_partitions, make_partitions
    from .validation import validate
    net = build_network(args)
    if args.all_balanced:
        parts = balanced_partitions(net)
        if args.partition:
            raise UsageError("give --partition or --all-balanced, not both")
        parts = _progress(parts)
    else:
        parts = make_partitions(net, args.partition or DEFAULT_PARTITIONS)
    rows = []
    for part in parts:
        if args.validate:
            row = validate(net, [part], method=args.method, flow_func=args.flow_func,
                           spectrum_method=args.spectrum_method)[0].as_dict()
        else:
            result = mincut(net, part, method=args.method, flow_func=args.flow_func)
            row = {"partition": part.name, **result.as_dict()}
            del row["B"]
        rows.append(row)
    if args.draw and rows:
        from .drawing import draw
        first = parts[0] if isinstance(parts, list) else balanced_partitions(net)[0]
        draw(net, cut=mincut(net, first, method=args.method, flow_func=args.flow_func), path=args.draw)
    return rows


def main(argv=None) -> int:
    """Entry point of ``tn-mincut`` and ``python -m analysis``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        argv = list(DEFAULT_ARGS)
    try:
        args = build_parser().parse_args(argv)
        if not args.builder and not args.load:
            raise UsageError("give a builder name (e.g. convac) or --load FILE")
        rows = run(args)
    except (UsageError, TNError, OSError, ValueError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"tn-mincut: error: {message}", file=sys.stderr)
        return 2
    try:
        _print(args, rows)
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        sys.stdout = open(os.devnull, "w")
    return 0


def _print(args, rows):
    from .report import dumps, format_table
    if args.json:
        print(dumps(rows))
        return
    columns = ["partition", "A", "log2_bound", "bound", "cut", "method"]
    if args.validate:
        columns += ["rank", "gap", "tight", "entropy", "spectrum_method"]
    print(format_table(rows, columns + ["seconds"]))
    for row in rows:
        if row.get("note"):
            print(f"{row['partition']}: {row['note']}")
    if args.draw:
        print(f"wrote {args.draw}")


__all__ = ["main", "build_parser", "build_network", "run", "DEFAULT_ARGS"]
