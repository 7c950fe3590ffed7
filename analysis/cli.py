"""``tn-mincut``: min-cut rank bounds (and, with --validate, true ranks) of a network's partitions.

Examples (shell)::

    tn-mincut                                   # = the default command below
    tn-mincut convac --tree balanced --N 16 --M 2 --widths 2 \\
        --partition left-right --partition odd-even --partition blocks:4 --validate
    tn-mincut --load net.tnet --partition 0,1,2,3 --format jsonl
    tn-mincut deep_convac --N 16 --M 2 --widths 2 --all-balanced
    tn-mincut deep_convac --N 32 --all-balanced --summary --client local   # 3.0e8 partitions on dask
    tn-mincut --grid 8x8 --window 2x2 --pooling mirror --partition checkerboard --draw p.png
    tn-mincut --grid 4x4 --mask 1100/1100/0011/0011 --validate    # a grid network's partition as a 0/1 mask

Networks come from ``--load FILE`` or from a builder of :func:`builders.get`. Builder flags are declared
once in :data:`BUILDER_FLAGS`, each with the builder parameters it fills; a flag the chosen builder does
not take is an error naming the flags it does take (``tn-mincut --help`` lists them per builder).
Output formats and the JSON schema: :mod:`analysis.report`. Bad input exits with status 2 and one line
on stderr, never a traceback (set ``TN_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import numpy as np

from tn.errors import TNError

DEFAULT_NETWORK = ["convac", "--tree", "balanced", "--N", "16", "--M", "2", "--widths", "2"]
DEFAULT_QUERY = ["--partition", "left-right", "--partition", "odd-even", "--partition", "blocks:4", "--validate"]
DEFAULT_ARGS = DEFAULT_NETWORK + DEFAULT_QUERY  # the main job: tn-mincut with no arguments
DEFAULT_PARTITIONS = ("left-right", "odd-even")
ROW_LIMIT = 10**6  # rows printed one per partition; beyond, --summary
TREES = ("balanced", "interleaved", "mirror", "flat", "random")
FORMATS = ("table", "json", "jsonl", "csv")
DTYPES = ("float64", "float32", "complex128", "complex64")
PROGRESS_AFTER = 2.0  # seconds: a stage that takes longer says on stderr what it is doing, then how long it took


class UsageError(Exception):
    """Bad command-line input (reported in one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _ints(flag):
    def parse(text):
        try:
            values = [int(t) for t in text.split(",")]
        except ValueError:
            raise UsageError(f"{flag} {text!r}: expected an int or a comma list of ints") from None
        return values[0] if len(values) == 1 else values
    return parse


def _int_list(flag):
    def parse(text):
        value = _ints(flag)(text)
        return value if isinstance(value, list) else [value]
    return parse


def _pairs(flag, what):
    """``"8x8"`` -> ``(8, 8)``; with ``what="windows"`` also ``"2x2,2x1"`` -> ``[(2, 2), (2, 1)]`` (one per level)."""
    def parse(text):
        try:
            pairs = [tuple(int(x) for x in part.lower().split("x")) for part in text.split(",")]
        except ValueError:
            pairs = []
        if not pairs or any(len(p) != 2 for p in pairs) or (what == "shape" and len(pairs) != 1):
            example = "8x8" if what == "shape" else "2x2 (or one per level: 2x2,2x1,1x2)"
            raise UsageError(f"{flag} {text!r}: expected {example}")
        return pairs[0] if len(pairs) == 1 else pairs
    return parse


def _levels(text):
    return [] if text.strip().lower() == "none" else _int_list("--mixture-levels")(text)


def _head(text):
    if text.lower() not in ("convac", "none"):
        raise UsageError(f"--head {text!r}: expected convac or none")
    return None if text.lower() == "none" else "convac"


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


def _dtype(text):
    if text not in DTYPES:
        raise UsageError(f"--dtype {text!r}: expected one of {', '.join(DTYPES)}")
    import numpy as np
    return np.dtype(text)


@contextmanager
def stage(what):
    """Run a stage; past :data:`PROGRESS_AFTER` seconds print ``tn-mincut: <what> ...`` on stderr, and at
    its end the seconds it took (quick stages print nothing)."""
    start = time.perf_counter()
    timer = threading.Timer(PROGRESS_AFTER, lambda: print(f"tn-mincut: {what} ...", file=sys.stderr, flush=True))
    timer.daemon = True
    timer.start()
    outcome = "failed after"
    try:
        yield
        outcome = "done in"
    finally:
        timer.cancel()
        seconds = time.perf_counter() - start
        if seconds >= PROGRESS_AFTER:
            print(f"tn-mincut: {what}: {outcome} {seconds:.1f} s", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class BuilderFlag:
    """A command-line flag that fills builder parameters: the first of ``params`` the builder takes."""

    flag: str
    params: tuple
    parse: object  # text -> value (trees are parsed later: they need N and the seed)
    help: str
    default: str | None = None  # used only when the builder takes the parameter and has no default for it
    also: tuple = ()  # parameters that read the flag without being filled by it (--N sizes a --tree)


BUILDER_FLAGS = (
    BuilderFlag("--N", ("N",), int, "number of input positions", "16", also=("tree", "tree_a")),
    BuilderFlag("--M", ("M",), int, "representation size (input leg dimension)", "2"),
    BuilderFlag("--widths", ("widths", "Z"), _ints("--widths"), "width(s): one int or a comma list (one per level)",
                "2"),
    BuilderFlag("--tree", ("tree", "tree_a"), str,
                f"mode tree: {', '.join(TREES)} or nested tuples; two trees joined by '+' for mixed", "balanced"),
    BuilderFlag("--pooling", ("pooling",), str, "pooling geometry: deep_convac contiguous, interleaved or mirror; "
                "on a --grid square or mirror"),
    BuilderFlag("--grid", ("grid",), _pairs("--grid", "shape"),
                "image HxW: the positions are its pixels, row-major (theory §9); builder default deep_convac"),
    BuilderFlag("--window", ("window",), _pairs("--window", "windows"),
                "pooling window AxB of a --grid (default 2x2), or one per level: 2x2,2x1"),
    BuilderFlag("--arity", ("arity",), int, "pooling window size of deep_convac"),
    BuilderFlag("--dilations", ("dilations", "dilations_a"), _int_list("--dilations"),
                "dilation per layer, comma list (mixed_dilated: the first network's)"),
    BuilderFlag("--dilations-b", ("dilations_b",), _int_list("--dilations-b"), "the second network's dilations"),
    BuilderFlag("--swap", ("swap",), int, "mixed decompositions: channels swapped at each mixture node (default r/2)"),
    BuilderFlag("--mixture-levels", ("mixture_levels",), _levels,
                "mixed_dilated: layers after which the tracks swap, comma list, or 'none' (the plain sum)"),
    BuilderFlag("--head", ("head",), _head, "dilated nets: 'convac' (W^out after the last layer) or 'none' "
                "(the paper's baseline: the last product is the output)"),
    BuilderFlag("--max-terms", ("max_terms",), int, "mixed decompositions: the most hybrid-tree terms expanded "
                "for min-cuts, ranks and spectra (default 4096)"),
    BuilderFlag("--levels", ("levels",), int, "truncated_convac: pooling levels in all (the last is global)"),
    BuilderFlag("--g", ("g",), str, "generalized: product, relu-max or relu-sum"),
    BuilderFlag("--share", ("share",), str, "weight sharing of ConvACs (e.g. level, level_slot)"),
    BuilderFlag("--dims", ("dims",), _int_list("--dims"), "layer sizes of deep_linear, comma list"),
    BuilderFlag("--classes", ("classes",), int, "size of the class leg"),
    BuilderFlag("--init", ("init",), str, "weight init (see builders.init.INITS)"),
    BuilderFlag("--seed", ("seed",), int, "random seed of the weights (and of --tree random)"),
    BuilderFlag("--dtype", ("dtype",), _dtype, f"weight dtype: {', '.join(DTYPES)} (spectra are computed in float64)"),
)


def _dest(flag: BuilderFlag) -> str:
    return flag.flag.lstrip("-").replace("-", "_")


def _given_flags(args) -> dict:
    """The builder flags given on the command line, with their parsed values."""
    return {f: getattr(args, _dest(f)) for f in BUILDER_FLAGS if getattr(args, _dest(f)) is not None}


def builder_flags(fn) -> list:
    """The :data:`BUILDER_FLAGS` that builder ``fn`` takes."""
    params = inspect.signature(fn).parameters
    return [f for f in BUILDER_FLAGS if any(p in params for p in f.params + f.also)]


def _builders_help() -> str:
    import builders
    lines = ["builders and the flags each takes:"]
    for name in builders.available():
        flags = " ".join(f.flag for f in builder_flags(builders.get(name)))
        lines.append(f"  {name:16s} {flags}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tn-mincut", formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Min-cut bounds on matricization ranks of a tensor network "
                            "(no arguments: " + " ".join(DEFAULT_ARGS) + "; no builder and no builder flags: "
                            "that network, with those partitions and --validate unless partitions are chosen; "
                            "builder flags without a builder: deep_convac).",
                epilog=_builders_help())
    p.add_argument("builder", nargs="?", help="builder name (listed below), or omit with --load")
    p.add_argument("--load", metavar="FILE", help="a network saved with .save() (.tnet)")
    g = p.add_argument_group("builder flags (an error if the builder does not take them)")
    for f in BUILDER_FLAGS:
        g.add_argument(f.flag, dest=_dest(f), default=None, metavar=f.flag.lstrip("-").upper(), help=f.help)
    q = p.add_argument_group("queries")
    q.add_argument("--partition", action="append", metavar="P",
                   help="left-right, odd-even, blocks:K, random:SEED or legs '0,1,2' / '0,1|2,3'; on a --grid also "
                        "top-bottom, checkerboard, center-border, quadrants:Q (Q = 0..3), rows:K, cols:K "
                        "(repeatable)")
    q.add_argument("--mask", action="append", metavar="ROWS",
                   help="a partition of a --grid network as rows of 0/1 (1 = side A), e.g. 1100/1100/0011/0011 "
                        "(repeatable, with or without --partition)")
    q.add_argument("--random", type=int, metavar="K", help="K random balanced partitions (random:0 .. random:K-1)")
    q.add_argument("--all-balanced", action="store_true",
                   help="every balanced partition, each once (any N: through analysis.sweep)")
    q.add_argument("--size", type=int, metavar="k", help="every partition whose side A has k positions (C(N, k))")
    q.add_argument("--summary", action="store_true",
                   help="with --all-balanced, --size or --random: the histogram of bounds and the partitions of "
                        "smallest and largest bound, not one row per partition")
    q.add_argument("--client", metavar="local|ADDRESS",
                   help="run the sweep on dask: 'local' (a LocalCluster sized to this machine) or a scheduler address")
    q.add_argument("--fix-rest", action="store_true",
                   help="with 'A|B' partitions: fix the input legs in neither side (else leftover legs are an error)")
    q.add_argument("--method", default="auto", help="cut method: auto, tree, flow")
    q.add_argument("--flow-func", default=None, help="networkx flow function (e.g. preflow_push, dinitz)")
    q.add_argument("--validate", action="store_true",
                   help="also compute the certified rank interval, its verdict, and the float spectrum's entropy")
    q.add_argument("--spectrum-method", default="auto", help="auto, dense or gram")
    q.add_argument("--gram-max-dim", type=int, default=None, metavar="D",
                   help="with --validate: the largest cut dimension of the gram spectrum (default 2048)")
    q.add_argument("--rank-method", default="auto",
                   help="with --validate: auto (exact rank mod p when the cut fits, else a lower bound), exact, "
                        "lower or float")
    q.add_argument("--weights", choices=("random", "own"), default="random",
                   help="with --validate: certify the architecture (random weights mod p) or the network's own "
                        "integer weights")
    o = p.add_argument_group("output")
    o.add_argument("--format", choices=FORMATS, default="table", help="table (default), json, jsonl or csv")
    o.add_argument("--json", action="store_true", help="same as --format json")
    o.add_argument("--out", metavar="FILE", help="write the output to FILE instead of stdout, in the format of "
                   "its suffix: .json, .jsonl or .csv")
    o.add_argument("--save", metavar="FILE", help="also save the network (.tnet) for later --load")
    o.add_argument("--draw", metavar="FILE.png", help="draw the network and the first partition's cut")
    o.add_argument("--labels", action="store_true", help="with --draw: label every tensor")
    return p


def build_network(args):
    """The network the arguments describe (--load, or a builder called with the flags it takes)."""
    import tn
    given = _given_flags(args)
    if args.load:
        if args.builder:
            raise UsageError("give either a builder name or --load FILE, not both")
        if given:
            raise UsageError(f"{', '.join(f.flag for f in given)}: builder flags do not apply to --load")
        return tn.load(args.load)
    import builders
    fn = builders.get(args.builder)
    params = inspect.signature(fn).parameters
    takes = builder_flags(fn)
    refused = [f.flag for f in given if f not in takes]
    if refused:
        raise UsageError(f"builder {args.builder!r} does not take {', '.join(refused)}; it takes "
                         f"{' '.join(f.flag for f in takes)}")
    values = {}
    n_flag = next(f for f in BUILDER_FLAGS if f.flag == "--N")  # --N also sizes a --tree, taken or not
    N = int(given.get(n_flag, n_flag.default))
    on_grid = any(f.flag == "--grid" for f in given)
    for f in takes:
        param = next((p for p in f.params if p in params), None)
        text = given.get(f)
        if param is None:
            continue
        # a builder parameter without a default (or None: required unless e.g. grid= replaces it) gets the flag's
        default = params[param].default
        if text is None and on_grid and param in ("N", "tree"):
            continue  # the grid sizes the network (and, without --tree, shapes its tree)
        if text is None and f.default is not None and (default is inspect.Parameter.empty or default is None):
            text = f.default
        if text is not None:
            values[param] = text if f.parse is str else f.parse(text)
    if "tree" in values or "tree_a" in values:
        _resolve_trees(args.builder, values, N)
    try:
        return fn(**values)
    except TypeError as exc:
        raise UsageError(f"builder {args.builder!r} cannot be built from these flags: {exc}") from None


def _resolve_trees(builder, values, N):
    seed = values.get("seed", 0)
    if "tree" in values:
        values["tree"] = _tree(values["tree"], N, seed)
        return
    trees = values.pop("tree_a").split("+")
    if len(trees) != 2:
        raise UsageError(f"builder {builder!r} needs two trees: --tree A+B (e.g. balanced+mirror)")
    values["tree_a"], values["tree_b"] = (_tree(t, N, seed) for t in trees)


def _progress(items):
    if not sys.stderr.isatty():  # no bar in a pipe or a log file
        return items
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


def _random_rows(n, start, stop):
    """Rows of the partitions ``random:start`` .. ``random:stop-1`` (picklable, for a sweep's workers)."""
    from .partitions import PARTITIONS
    rows = np.zeros((stop - start, n), dtype=bool)
    for k, seed in enumerate(range(start, stop)):
        rows[k, list(PARTITIONS.get("random")(None, tuple(range(n)), seed))] = True
    return rows


def _selectors(args) -> list:
    """Which partition selectors were given: --partition/--mask, --random, --all-balanced, --size."""
    return [bool(args.partition or args.mask), args.random is not None, args.all_balanced, args.size is not None]


def query_family(net, args):
    """The partition family of --all-balanced, --size k or --random K (None for --partition): what a sweep runs."""
    from .families import AllBalanced, Generated, OfSize
    if sum(_selectors(args)) > 1:
        raise UsageError("give one of --partition (and --mask), --random K, --all-balanced, --size k")
    n = len(net.input_legs)
    if args.all_balanced:
        return AllBalanced(n)
    if args.size is not None:
        if not 1 <= args.size < n:
            raise UsageError(f"--size {args.size}: k must be between 1 and N - 1 = {n - 1}")
        return OfSize(n, args.size)
    if args.random is not None:
        if args.random < 1:
            raise UsageError(f"--random {args.random}: K must be >= 1")
        return Generated(partial(_random_rows, n), args.random, n, name=f"random:0..{args.random - 1}")
    return None


def _check_rows(family):
    if family.count > ROW_LIMIT:
        raise UsageError(f"{family.count:,} partitions is more rows than ROW_LIMIT = {ROW_LIMIT:,}: use --summary "
                         "(a histogram), or --size / --random for fewer")


def resolve_partitions(net, args) -> list:
    """The partitions the query flags name, each resolved once to a :class:`~analysis.partitions.Partition`."""
    from .partitions import Partition, make_partition
    family = query_family(net, args)
    if args.random is not None:  # rows named random:SEED
        return [make_partition(net, f"random:{seed}") for seed in range(args.random)]
    if family is not None:
        _check_rows(family)
        legs = tuple(net.input_legs)
        return [family.partition(legs, k) for k in range(family.count)]
    parts, fixed = [], False
    specs = (args.partition or []) + [f"mask:{m}" for m in args.mask or []]
    for spec in specs or DEFAULT_PARTITIONS:
        part = make_partition(net, spec)
        chosen = set(part.A) | set(part.B)
        rest = [leg for leg in net.input_legs if leg not in chosen]
        if rest and not args.fix_rest:
            raise UsageError(f"partition {spec!r} leaves input legs {rest!r} on neither side; list them or pass "
                             "--fix-rest to fix them at value 0")
        fixed = fixed or bool(rest)
        parts.append(Partition(part.name, part.A, part.B))
    if args.fix_rest and not fixed:
        raise UsageError("--fix-rest: no partition leaves input legs on neither side (it applies to 'A|B' "
                         "partitions that do)")
    return parts


def run(args) -> tuple:
    """Answer the queries: ``(header, rows)``, JSON-ready dicts (see :mod:`analysis.report`)."""
    from .bounds import mincut
    from .report import header, row_from_cut, row_from_validation
    from .validation import validate
    _check_query_flags(args)
    with stage(f"loading {args.load}" if args.load else f"building {args.builder}"):
        net = build_network(args)
    if args.save:
        with stage(f"saving {args.save}"):
            net.save(args.save)
    family = query_family(net, args)
    if (args.summary or args.client) and family is None:
        raise UsageError("--summary and --client apply to --all-balanced, --size k or --random K")
    if args.summary and (args.validate or args.draw):
        raise UsageError("--summary gives no per-partition rows to --validate or --draw")
    if family is not None and (args.summary or args.random is None) and not args.validate and not args.draw:
        with stage(f"sweeping {family.count:,} partitions ({family.name})"):
            return header(net, source=args.load), _swept(net, family, args)
    parts = resolve_partitions(net, args)
    rows, first = [], None
    for part in (_progress(parts) if family is not None else parts):
        with stage(f"{'validating' if args.validate else 'min cut of'} partition {part.name}"):
            if args.validate:
                result = validate(net, [part], method=args.method, flow_func=args.flow_func,
                                  spectrum_method=args.spectrum_method, rank_method=args.rank_method,
                                  weights=args.weights,
                                  **({} if args.gram_max_dim is None else {"gram_max_dim": args.gram_max_dim}))[0]
                row = row_from_validation(result.as_dict())
            else:
                result = mincut(net, part, method=args.method, flow_func=args.flow_func)
                row = row_from_cut(part.name, result)
        first = first or result
        rows.append(row)
    if args.draw and parts:
        with stage(f"drawing {args.draw}"):
            _draw(net, parts[0], first, args)
    return header(net, source=args.load), rows


def _swept(net, family, args):
    """The rows (or, with --summary, the summary) of a family, through :func:`analysis.sweep`."""
    import json
    import tempfile

    from .report import make_row, row_from_cut
    from .sweeps import sweep
    progress = sys.stderr.isatty()
    if args.summary:
        r = sweep(net, family, client=args.client, progress=progress)
        bounds = list(r.bounds) if r.bounds else [None] * len(r.histogram)
        return {"family": r.family, "count": r.count, "exact": r.exact, "route": r.route, "seconds": r.seconds,
                "histogram": [{"log2_bound": k, "bound": b, "count": n, "fraction": n / r.count}
                              for (k, n), b in zip(r.histogram.items(), bounds)],
                "min": row_from_cut(r.min.partition.name, r.min.result),
                "max": row_from_cut(r.max.partition.name, r.max.result)}
    _check_rows(family)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rows.jsonl")
        r = sweep(net, family, reduce="table", out=path, client=args.client, progress=progress)
        with open(path) as f:
            rows = [json.loads(line) for line in f]
    return [make_row({"partition": row["partition"], "A": row["A"], "B": row["B"], "log2_bound": row["log2_bound"],
                      "bound": row["bound"], "method": f"sweep:{r.route}"}) for row in rows]


def _draw(net, part, result, args):
    """A grid network: the partition on its image (bound, rank in the title); else the graph and the cut."""
    from .bounds import mincut
    from .drawing import draw, draw_partition
    from .partitions import grid_shape
    if grid_shape(net) is not None:
        if args.labels:
            raise UsageError("--labels applies to graph drawings; a --grid network is drawn as its image")
        draw_partition(net, part, result, path=args.draw)
        return
    cut = result if hasattr(result, "sides") else mincut(net, part, method=args.method, flow_func=args.flow_func)
    draw(net, cut=cut, path=args.draw, labels=args.labels)


def main(argv=None) -> int:
    """Entry point of ``tn-mincut`` and ``python -m analysis``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        argv = list(DEFAULT_ARGS)
    try:
        args = build_parser().parse_args(argv)
        if not args.builder and not args.load:
            if not _given_flags(args):  # tn-mincut --format csv ...
                chosen = any(_selectors(args))
                args = build_parser().parse_args(DEFAULT_NETWORK + ([] if chosen else DEFAULT_QUERY) + argv)
            else:  # tn-mincut --N 4096 / --grid 8x8 ...: the default network's architecture (the paper's deep one)
                args.builder = "deep_convac"
        if args.labels and not args.draw:
            raise UsageError("--labels only applies with --draw FILE.png")
        head, rows = run(args)
    except SystemExit:  # --help
        raise
    except (UsageError, TNError, OSError, ValueError, MemoryError, RecursionError) as exc:
        return _fail(exc)
    except Exception as exc:  # a bug: still one line (TN_DEBUG=1 shows the traceback)
        if os.environ.get("TN_DEBUG"):
            raise
        return _fail(exc, prefix=f"internal error ({type(exc).__name__}, please report): ")
    try:
        _print(args, head, rows)
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        sys.stdout = open(os.devnull, "w")
    return 0


def _fail(exc, prefix="") -> int:
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, MemoryError) and not isinstance(exc, TNError):
        message = f"out of memory ({message}); use smaller sizes or set TN_MEMORY_LIMIT"
    print(f"tn-mincut: error: {prefix}{message}", file=sys.stderr)
    return 2


def _print(args, head, rows):
    from .report import format_rows
    fmt = _out_format(args.out) if args.out else "json" if args.json else args.format
    text = _format_summary(head, rows, fmt) if isinstance(rows, dict) else format_rows(head, rows, fmt,
                                                                                        validated=args.validate)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
        print(f"wrote {args.out}")
    else:
        print(text)
    if args.draw and fmt == "table":
        print(f"wrote {args.draw}")


def _check_query_flags(args):
    """Flags that would be silently ignored in this combination are errors, before any work."""
    unvalidated = [flag for flag, value, default in (("--weights", args.weights, "random"),
                                                     ("--rank-method", args.rank_method, "auto"),
                                                     ("--spectrum-method", args.spectrum_method, "auto"),
                                                     ("--gram-max-dim", args.gram_max_dim, None))
                   if value != default]
    if unvalidated and not args.validate:
        raise UsageError(f"{' '.join(unvalidated)} only appl{'ies' if len(unvalidated) == 1 else 'y'} with --validate")
    if args.flow_func and args.method == "tree":
        raise UsageError("--flow-func chooses the max-flow algorithm: it does not apply with --method tree")
    if args.out:
        fmt = _out_format(args.out)  # a bad suffix fails before any work
        if args.format != "table" and args.format != fmt or args.json and fmt != "json":
            raise UsageError(f"--out {args.out!r} writes {fmt} (its suffix), but --format says "
                             f"{'json' if args.json else args.format}: give one of them")


def _out_format(path) -> str:
    fmt = {".json": "json", ".jsonl": "jsonl", ".csv": "csv"}.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise UsageError(f"--out {path!r}: the suffix must be .json, .jsonl or .csv")
    return fmt


def _format_summary(head, summary, fmt) -> str:
    """A --summary: JSON ``{"header", "summary"}``, JSONL (header, summary), CSV (the histogram) or a table."""
    from .report import dumps, format_table
    if fmt == "json":
        return dumps({"header": head, "summary": summary})
    if fmt == "jsonl":
        return "\n".join(dumps(item) for item in (head, summary))
    columns = ["log2_bound", "bound", "count", "fraction"]
    if fmt == "csv":
        lines = [f"# {dumps(head)}", ",".join(columns)]
        lines += [",".join("" if row[c] is None else str(row[c]) for c in columns) for row in summary["histogram"]]
        return "\n".join(lines)
    title = (f"{summary['family']}: {summary['count']:,} partitions, {'exact' if summary['exact'] else 'float'} "
             f"bounds, {summary['route']} route, {summary['seconds']:.2f} s")
    ends = [{"": side, **summary[side]} for side in ("min", "max")]
    return "\n".join([title, format_table(summary["histogram"], columns),
                      format_table(ends, ["", "partition", "log2_bound", "bound", "cut"])])


__all__ = ["main", "build_parser", "build_network", "resolve_partitions", "query_family", "run", "BUILDER_FLAGS",
           "builder_flags", "DEFAULT_ARGS", "DEFAULT_NETWORK", "DEFAULT_QUERY", "ROW_LIMIT"]
