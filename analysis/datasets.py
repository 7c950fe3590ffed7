"""Synthetic data sets of the training experiments (theory §12): ICLR'17 blobs, digit-derived tasks.

**Blobs** (Cohen & Shashua, ICLR 2017, written from the protocol in theory §12): a random ellipse on a
square tile, warped by a sine, rotated, randomly scaled, with random pixel drops (half the time with a
left-right mirror-symmetric drop mask), tiled 1 x 1 or 2 x 2 over the image. Two scores per image, on
its tile: **closedness** = |blob| / |its binary closure| (3 x 3 closing, so drops inside the blob open it)
and **symmetry** = |blob ∩ its left-right flip| / |blob|. A task keeps the top 40% of a pool by the score
as class 1 and the bottom 40% as class 0: exactly balanced. Everything is drawn from one
``numpy.random.default_rng(seed)``: deterministic per seed.

**Digit tasks** (scikit-learn's 8 x 8 digits, an optional dependency) for the layer-width experiment:
``"local"``, one digit at a fixed place in a noise canvas, label = the digit (what matters sits in one
corner: short-range correlations); ``"global"``, two digits in opposite corners, label = whether they
are the same digit (long-range correlations).

Images are returned flattened row-major (position p = row * W + col, the grid convention of theory §9).

Examples
--------
>>> from analysis.datasets import blob_task
>>> X, y, Xt, yt = blob_task("symmetry", n_train=200, n_test=100, size=16, seed=0)
>>> X.shape, Xt.shape, int(y.sum()), int(yt.sum())
((200, 256), (100, 256), 100, 50)
"""

from __future__ import annotations

import numpy as np

from tn.errors import SettingError

BLOB_TASKS = ("closedness", "symmetry")
DIGIT_TASKS = ("local", "global")


def _tile(rng, n, t):
    """n random blob tiles (n, t, t) of bools, and their symmetric-drop flags."""
    c = (np.arange(t) + 0.5) / t * 2 - 1  # pixel centres in [-1, 1]
    v, u = np.meshgrid(c, c, indexing="ij")  # v: rows (down), u: columns
    scale = rng.uniform(0.55, 1.0, (n, 1, 1))
    a = scale * rng.uniform(0.45, 0.9, (n, 1, 1))
    b = scale * rng.uniform(0.25, 0.6, (n, 1, 1))
    angle = rng.uniform(0, np.pi, (n, 1, 1))
    amp, freq, phase = rng.uniform(0, 0.3, (n, 1, 1)), rng.uniform(1, 3, (n, 1, 1)), rng.uniform(0, 2 * np.pi, (n, 1, 1))
    cu, cv = rng.uniform(-0.1, 0.1, (n, 1, 1)), rng.uniform(-0.1, 0.1, (n, 1, 1))
    x, y = u - cu, v - cv
    xr = np.cos(angle) * x + np.sin(angle) * y
    yr = -np.sin(angle) * x + np.cos(angle) * y
    yr = yr + amp * np.sin(np.pi * freq * xr + phase)  # the sine warp
    inside = (xr / a) ** 2 + (yr / b) ** 2 <= 1
    rate = rng.uniform(0, 0.35, (n, 1, 1))
    drops = rng.random((n, t, t)) < rate
    symmetric = rng.random(n) < 0.5
    mirrored = drops.copy()
    mirrored[:, :, t - t // 2:] = drops[:, :, :t // 2][:, :, ::-1]  # right half = flipped left half
    drops = np.where(symmetric[:, None, None], mirrored, drops)
    return inside & ~drops, symmetric


def blob_scores(tiles):
    """``{"closedness", "symmetry"}`` of blob tiles (n, t, t) (empty tiles score 0)."""
    from scipy import ndimage
    padded = np.pad(tiles, ((0, 0), (2, 2), (2, 2)))
    closed = ndimage.binary_closing(padded, structure=np.ones((1, 3, 3), bool))[:, 2:-2, 2:-2] | tiles
    area = tiles.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        closedness = np.where(area > 0, area / closed.sum(axis=(1, 2)), 0.0)
        symmetry = np.where(area > 0, (tiles & tiles[:, :, ::-1]).sum(axis=(1, 2)) / area, 0.0)
    return {"closedness": closedness, "symmetry": symmetry}


def blobs(n, size=32, seed=0):
    """``(images, scores)``: n blob images (n, size, size) of 0/1 and their scores (see the module doc).

    Examples
    --------
    >>> images, scores = blobs(4, size=16, seed=1)
    >>> images.shape, sorted(scores), bool(((scores["symmetry"] >= 0) & (scores["symmetry"] <= 1)).all())
    ((4, 16, 16), ['closedness', 'symmetry'], True)
    """
    if not isinstance(size, int) or size < 4 or size % 2:
        raise SettingError(f"blob images: size={size!r} must be an even int >= 4")
    rng = np.random.default_rng(seed)
    repeats = rng.choice([1, 2], n)  # tiles per side
    images = np.zeros((n, size, size), np.uint8)
    scores = {k: np.zeros(n) for k in BLOB_TASKS}
    for k in (1, 2):
        rows = np.nonzero(repeats == k)[0]
        tiles, _ = _tile(rng, len(rows), size // k)
        images[rows] = np.tile(tiles, (1, k, k))
        for name, values in blob_scores(tiles).items():
            scores[name][rows] = values
    return images, scores


def _check_counts(n_train, n_test):
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(value, int) or value < 2 or value % 2:
            raise SettingError(f"{name}={value!r} must be an even int >= 2 (the classes are balanced)")


def _balanced_split(rng, X, y, n_train, n_test):
    """Shuffle each class and give train and test half of their rows from each."""
    parts = {c: rng.permutation(np.nonzero(y == c)[0]) for c in (0, 1)}
    train = np.concatenate([parts[c][:n_train // 2] for c in (0, 1)])
    test = np.concatenate([parts[c][n_train // 2:n_train // 2 + n_test // 2] for c in (0, 1)])
    train, test = rng.permutation(train), rng.permutation(test)
    return X[train], y[train], X[test], y[test]


def blob_task(task, n_train=20000, n_test=4000, size=32, seed=0):
    """``(X_train, y_train, X_test, y_test)`` of the ICLR'17 closedness or symmetry task.

    A pool of (n_train + n_test) / 0.8 blob images; its bottom 40% by the task's score are class 0,
    its top 40% class 1; each class is split evenly between train and test. X: (n, size^2) of 0/1.
    """
    if task not in BLOB_TASKS:
        raise SettingError(f"blob task {task!r} must be one of {BLOB_TASKS}")
    _check_counts(n_train, n_test)
    half = (n_train + n_test) // 2
    pool = int(np.ceil(half / 0.4))
    images, scores = blobs(pool, size, seed)
    order = np.argsort(scores[task], kind="stable")
    low, high = order[:half], order[-half:]
    X = images.reshape(pool, -1)[np.concatenate([low, high])]
    y = np.repeat([0, 1], half)
    return _balanced_split(np.random.default_rng([seed, 1]), X, y, n_train, n_test)


def _digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise SettingError("digit tasks need scikit-learn (pip install scikit-learn)") from exc
    d = load_digits()
    return d.images / 16.0, d.target


def digit_task(task, n_train=2000, n_test=1000, canvas=16, seed=0, noise=0.5, digits=10):
    """``(X_train, y_train, X_test, y_test)``: features (n, canvas^2, 2) = (v, 1 - v) of pixel values v.

    ``"local"``: an 8 x 8 digit in the top-left corner of a canvas of uniform noise in [0, noise];
    label = the digit. ``"global"``: digits in the top-left and bottom-right corners; label = 1 if they
    are the same digit (half the samples), else 0: a function of rank ``digits`` across any cut between
    the corners. Only the digits 0..digits-1 are used. Train and test canvases use disjoint halves of
    the digit images.
    """
    if task not in DIGIT_TASKS:
        raise SettingError(f"digit task {task!r} must be one of {DIGIT_TASKS}")
    if not isinstance(canvas, int) or canvas < 16:
        raise SettingError(f"canvas={canvas!r} must be an int >= 16 (two 8 x 8 digits in opposite corners)")
    _check_counts(n_train, n_test)
    if not isinstance(digits, int) or not 2 <= digits <= 10:
        raise SettingError(f"digits={digits!r} must be an int in 2..10")
    images, labels = _digits()
    keep = labels < digits
    images, labels = images[keep], labels[keep]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    pools = order[:len(order) // 2], order[len(order) // 2:]
    out = []
    for pool, n in zip(pools, (n_train, n_test)):
        X = rng.uniform(0, noise, (n, canvas, canvas))
        first = rng.choice(pool, n)
        X[:, :8, :8] = images[first]
        y = labels[first]
        if task == "global":
            same = np.arange(n) % 2 == 0
            second = np.array([rng.choice(pool[(labels[pool] == labels[f]) == s]) for f, s in zip(first, same)])
            X[:, -8:, -8:] = images[second]
            y = same.astype(int)
        perm = rng.permutation(n)
        v = X.reshape(n, -1)[perm]
        out += [np.stack([v, 1 - v], axis=2), y[perm]]
    return tuple(out)


__all__ = ["BLOB_TASKS", "DIGIT_TASKS", "blob_scores", "blob_task", "blobs", "digit_task"]
