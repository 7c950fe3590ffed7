"""Training ConvACs on data (theory §12): log-space networks, minibatches, optimizers, representation layers.

:func:`fit` trains any tree network of matrices (every ConvAC, CP and dilated builder) as a classifier:
the class scores are the network's outputs, in the **log domain** by default (the papers' own form:
weights exp(theta), activations as logs, logsumexp 1x1 convs, product pooling as sums, scores log h_y;
stable at any N) or the linear one. Forward and backward passes run through the level-batched executor
(:mod:`tn.treeexec`). Parameters are a dict keyed by tensor name: one entry per array, so tensors that
share an array (``share=`` in the builders, dilated ConvNets) share one parameter and its gradient is the
sum over them. The result's ``.network`` is an ordinary :class:`tn.TensorNetwork` (weights exp(theta)),
so min-cut bounds, exact ranks and spectra apply to the trained network unchanged.

Extension points are :class:`tn.registry.Registry` objects: :data:`LOSSES`, :data:`OPTIMIZERS`,
:data:`SCHEDULES` and :data:`REPRESENTATIONS`.

Examples
--------
>>> import numpy as np, builders
>>> from analysis.training import fit
>>> rng = np.random.default_rng(0)
>>> b = rng.integers(0, 2, (400, 8))                    # 8 binary pixels; class = the first pixel
>>> net = builders.deep_convac(8, M=2, widths=2, classes=2, seed=0)
>>> result = fit(net, b, b[:, 0], representation="binary", epochs=15, lr=0.05, progress=False)
>>> result.history["accuracy"][-1] > 0.95
True
>>> trained = result.network                            # ordinary tensor network, weights exp(theta)
>>> x = np.stack([b, 1 - b], axis=2).transpose(1, 0, 2).astype(float)
>>> np.allclose(trained.evaluate(x, domain="log"), result.scores(b))
True
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from tn.errors import SettingError, ShapeError, StructureError
from tn.network import read_only
from tn.registry import Registry
from tn.treeexec import Layout, check_domain, parameter_groups, tree_plan

LOSSES = Registry("loss")
OPTIMIZERS = Registry("training optimizer")
SCHEDULES = Registry("learning-rate schedule", hint="or a callable progress -> factor")
REPRESENTATIONS = Registry("representation", hint="or a Representation object, or a callable X -> features")


# ---------------------------------------------------------------------- losses: (scores, y) -> (mean, d mean/d scores)
@LOSSES.register("cross_entropy")
def cross_entropy(scores, y):
    """Softmax cross-entropy of class scores (log domain: log h_y), averaged over the batch."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    logz = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(len(y))
    value = float(np.mean(logz - shifted[rows, y]))
    grad = np.exp(shifted - logz[:, None])
    grad[rows, y] -= 1
    return value, grad / len(y)


@LOSSES.register("squared")
def squared(scores, y):
    """Half the squared distance of the scores to the one-hot labels, averaged over the batch."""
    diff = scores.copy()
    diff[np.arange(len(y)), y] -= 1
    return float(0.5 * np.mean(np.sum(diff ** 2, axis=1))), diff / len(y)


# ---------------------------------------------------------------------- optimizers
@OPTIMIZERS.register("adam")
class Adam:
    """Adam (Kingma & Ba); the ICLR'17 experiments use ``beta2=0.9``."""

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params, grads, lr):
        self.t += 1
        c1, c2 = 1 - self.beta1 ** self.t, 1 - self.beta2 ** self.t
        for key, g in grads.items():
            m = self.m.setdefault(key, np.zeros_like(g))
            v = self.v.setdefault(key, np.zeros_like(g))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            params[key] = params[key] - lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


@OPTIMIZERS.register("sgd")
class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum."""

    def __init__(self, momentum=0.9):
        self.momentum, self.velocity = momentum, {}

    def step(self, params, grads, lr):
        for key, g in grads.items():
            v = self.velocity.setdefault(key, np.zeros_like(g))
            v *= self.momentum
            v -= lr * g
            params[key] = params[key] + v


# ---------------------------------------------------------------------- schedules: progress in [0, 1) -> lr factor
SCHEDULES.register("constant", lambda progress: 1.0)
SCHEDULES.register("step", lambda progress: 0.1 if progress >= 0.8 else 1.0)  # ICLR'17: lr x 0.1 at 80%
SCHEDULES.register("cosine", lambda progress: 0.5 * (1 + math.cos(math.pi * progress)))


# ---------------------------------------------------------------------- representation layers
class Representation:
    """Inputs (n, N, ...) -> the executor's features (N, n, M), in the domain of the network.

    Subclasses set ``M`` (features per position) and may hold learned ``params`` (name -> array),
    with :meth:`backward` mapping the feature cotangent to their gradients.
    """

    M = None

    def __init__(self):
        self.params = {}

    def features(self, X, domain, params=None):
        raise NotImplementedError

    def backward(self, X, cotangent, domain):
        return {}


class Given(Representation):
    """X is already the features (n, N, M); log domain: they must be non-negative."""

    def __init__(self, M=None):
        self.M, self.params = M, {}

    def features(self, X, domain, params=None):
        X = np.asarray(X, dtype=float)
        if X.ndim != 3:
            raise ShapeError(f"features must have shape (n, N, M), got {X.shape}")
        feats = np.ascontiguousarray(X.transpose(1, 0, 2))
        if domain == "log":
            if (feats < 0).any():
                raise SettingError("log-domain features must be non-negative (use a representation layer)")
            with np.errstate(divide="ignore"):
                return np.log(feats)
        return feats


class Binary(Representation):
    """Binary pixels b -> (b, 1 - b): M = 2 (the ICLR'17 representation)."""

    M = 2

    def __init__(self):
        self.params = {}

    def features(self, X, domain, params=None):
        b = np.asarray(X)
        b = b.reshape(b.shape[0], -1) if b.ndim == 3 and b.shape[2] == 1 else b
        if b.ndim != 2 or not np.isin(b, (0, 1)).all():
            raise ShapeError(f"binary representation needs 0/1 inputs of shape (n, N), got shape {b.shape}")
        b = b.T.astype(float)
        feats = np.stack([b, 1 - b], axis=2)
        if domain == "log":
            return np.where(feats > 0, 0.0, -np.inf)
        return feats


class FeatureMap(Representation):
    """A fixed feature map ``fn(X) -> (n, N, M)`` (non-negative for the log domain)."""

    def __init__(self, fn, M=None):
        self.fn, self.M, self.params = fn, M, {}

    def features(self, X, domain, params=None):
        return Given(self.M).features(self.fn(X), domain)


class LinearPatches(Representation):
    """Learned features of patches X (n, N, P): X @ A + c, shared over positions.

    Linear domain: the features are X @ A + c. Log domain: X @ A + c are the *log* features (the
    features exp(X @ A + c) are positive, as the log-space network needs).
    """

    def __init__(self, P, M, seed=0, scale=0.1):
        rng = np.random.default_rng(seed)
        self.M = M
        self.params = {("representation", "A"): scale * rng.standard_normal((P, M)),
                       ("representation", "c"): np.zeros(M) if scale else np.ones(M)}

    def features(self, X, domain, params=None):
        p = self.params if params is None else params
        X = np.asarray(X, dtype=float)
        if X.ndim != 3 or X.shape[2] != p[("representation", "A")].shape[0]:
            raise ShapeError(f"linear patches need inputs (n, N, {p[('representation', 'A')].shape[0]}), "
                             f"got {X.shape}")
        return np.ascontiguousarray((X @ p[("representation", "A")] + p[("representation", "c")]).transpose(1, 0, 2))

    def backward(self, X, cotangent, domain):
        X = np.asarray(X, dtype=float).transpose(1, 0, 2)  # (N, n, P)
        P = X.shape[2]
        return {("representation", "A"): X.reshape(-1, P).T @ cotangent.reshape(-1, cotangent.shape[2]),
                ("representation", "c"): cotangent.sum(axis=(0, 1))}


REPRESENTATIONS.register("given", Given)
REPRESENTATIONS.register("binary", Binary)


def as_representation(representation) -> Representation:
    """None (X are features), a registered name, a :class:`Representation`, or a callable feature map."""
    if representation is None:
        return Given()
    if isinstance(representation, Representation):
        return representation
    if isinstance(representation, str):
        return REPRESENTATIONS.get(representation)()
    if callable(representation):
        return FeatureMap(representation)
    raise SettingError(f"representation={representation!r} must be None, a name ({', '.join(REPRESENTATIONS)}), "
                       "a Representation or a callable X -> features (n, N, M)")


# ---------------------------------------------------------------------- the trainer
@dataclass
class FitResult:
    """What :func:`fit` returns.

    ``network``: the trained ordinary network (log domain: weights exp(theta)); ``params``: tensor name
    (owner of each array) -> theta (log domain) or weights, plus learned representation parameters;
    ``history``: per epoch lists (``epoch``, ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``,
    ``seconds``); ``domain``, ``representation``.
    """

    network: object
    params: dict
    history: dict
    domain: str
    representation: Representation
    _model: object = field(repr=False, default=None)
    _state: dict = field(repr=False, default=None)

    def scores(self, X, batch_size=1024):
        """Class scores of inputs X (log domain: log h_y), (n, classes)."""
        return self._model.scores(self._state, X, batch_size)

    def predict(self, X):
        return np.argmax(self.scores(X), axis=1)

    def accuracy(self, X, y):
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def as_function(self, backend="numpy"):
        """``(fn, params)``: a pure function ``fn(params, X) -> scores`` of the trained model (:func:`as_function`)."""
        return as_function(self, backend)


class _Model:
    """A network's tree plan, its parameters by tensor position, a representation and a domain."""

    def __init__(self, network, domain, representation):
        legs = tuple(network.input_legs)
        self.plan = tree_plan(network, legs)
        if self.plan is None:
            raise StructureError("fit needs a tree network of matrices with one unfed open leg (a ConvAC, CP or "
                                 "dilated builder's network; see tn.treeexec.tree_plan)")
        self.network, self.domain, self.representation = network, domain, representation
        self.groups = parameter_groups(network)
        owner = {n: o for o, names in self.groups.items() for n in names}
        self.owner_of = [owner[n] for n in network.tensor_names]
        position = {n: p for p, n in enumerate(network.tensor_names)}
        self.layout = Layout(self.plan, [network.shape(n) for n in network.tensor_names],
                             [position[o] for o in self.owner_of])
        M = network.size(legs[0])
        if representation.M is not None and representation.M != M:
            raise ShapeError(f"the representation gives M={representation.M} features, the network's legs have {M}")

    def initial_state(self):
        """``{"network": flat parameter vector, **representation parameters}`` (the optimizer's view)."""
        flat = self.layout.flatten([self.network.data(n) for n in self.network.tensor_names])
        flat = flat.astype(flat.dtype if flat.dtype.kind == "f" else np.float64)
        if self.domain == "log":  # magnitudes of the given weights: theta = log |W|
            flat = np.log(np.maximum(np.abs(flat), np.finfo(flat.dtype).tiny))
        return {"network": flat, **{k: v.copy() for k, v in self.representation.params.items()}}

    def by_name(self, state):
        """Tensor name (owner of each array) -> theta or weights, plus the representation's parameters."""
        names = self.network.tensor_names
        out = {names[p]: v for p, v in self.layout.unflatten(state["network"]).items()}
        out.update({k: v for k, v in state.items() if k != "network"})
        return out

    def weights(self, state):
        return self.layout.weights(state["network"], self.domain)

    def features(self, params, X):
        """The executor's features, in the parameters' dtype (float32 networks train in float32)."""
        return self.representation.features(X, self.domain, params).astype(params["network"].dtype, copy=False)

    def scores(self, params, X, batch_size=1024):
        weights = self.weights(params)
        return np.concatenate([self.plan(None, self.features(params, X[i:i + batch_size]), weights=weights)
                               for i in range(0, len(X), batch_size)])

    def trained_network(self, params):
        net = self.network.copy()
        for o, names in self.groups.items():
            array = read_only(np.exp(params[o]) if self.domain == "log" else params[o].copy(), fresh=True)
            for n in names:
                net.set_data(n, array)
        net.metadata["trained"] = {"domain": self.domain}
        return net


def _check_data(X, y, what):
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y) or y.ndim != 1:
        raise ShapeError(f"{what}: X has {len(X)} samples, y has shape {y.shape} (need one int label per sample)")
    if y.dtype.kind not in "iub":
        raise ShapeError(f"{what}: labels must be ints, got dtype {y.dtype}")
    return X, y.astype(np.intp)


def _resolve(registry, value, what):
    if isinstance(value, str):
        return registry.get(value)
    if callable(value) or hasattr(value, "step"):
        return value
    raise SettingError(f"{what}={value!r} must be a name ({', '.join(registry)}) or an object")


def fit(network, X, y, loss="cross_entropy", optimizer="adam", batch_size=64, epochs=10, lr=0.003, schedule=None,
        validation=None, seed=0, progress=True, *, domain="log", representation=None, iterations=None,
        optimizer_options=None, callback=None) -> FitResult:
    """Train a tree network (ConvAC, CP, dilated ConvNet) as a classifier on (X, y).

    Parameters
    ----------
    network : tn.TensorNetwork
        Its outputs are the class scores (the builders' class leg ``"y"``); its weights are the start
        (log domain: theta = log |W|). Not modified.
    X : array
        Features (n, N, M) (``representation=None``), or raw inputs for the representation layer:
        binary pixels (n, N) with ``"binary"``, anything a callable feature map takes, patches (n, N, P)
        for a :class:`LinearPatches` layer (learned).
    y : array of int
        Class labels in [0, classes).
    loss : str or callable
        A name in :data:`LOSSES` (``"cross_entropy"``, ``"squared"``) or ``fn(scores, y) -> (mean, grad)``.
    optimizer : str or object
        A name in :data:`OPTIMIZERS` (``"adam"``, ``"sgd"``; options in ``optimizer_options``, e.g.
        ``{"beta2": 0.9}``) or an object with ``step(params, grads, lr)``.
    batch_size, epochs, lr
        Minibatch size, passes over the data (``iterations`` overrides: total minibatch steps), step size.
    schedule : None, str or callable
        Learning-rate factor of the progress in [0, 1): a name in :data:`SCHEDULES` (``"step"``: x0.1 at 80%,
        ``"cosine"``), a callable, or None (constant).
    validation : (X, y), optional
        Scored after every epoch (``val_loss``, ``val_accuracy`` in the history).
    seed : int
        Minibatch order.
    progress : bool
        One line per epoch on stderr.
    domain : {"log", "linear"}
    representation : None, str, Representation or callable
        See ``X``.
    callback : callable, optional
        ``callback(step, live)`` after every step; ``live.scores(X)`` / ``live.accuracy(X, y)`` use the current
        parameters (``live.network`` is None until the end), e.g. for learning curves.

    Returns
    -------
    FitResult
    """
    domain = check_domain(domain)
    X, y = _check_data(X, y, "fit")
    rep = as_representation(representation)
    model = _Model(network, domain, rep)
    classes = model.plan.sizes[model.plan.root[0]][1]
    if y.min() < 0 or y.max() >= classes:
        raise ShapeError(f"labels must lie in [0, {classes}) (the network has {classes} outputs), got "
                         f"[{y.min()}, {y.max()}]")
    loss_fn = _resolve(LOSSES, loss, "loss")
    opt = _resolve(OPTIMIZERS, optimizer, "optimizer")
    opt = opt(**(optimizer_options or {})) if isinstance(opt, type) else opt
    factor = SCHEDULES.get(schedule or "constant") if not callable(schedule) else schedule
    if validation is not None:
        validation = _check_data(*validation, "validation")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise SettingError(f"batch_size={batch_size!r} must be a positive int")
    per_epoch = math.ceil(len(X) / batch_size)
    total = iterations if iterations is not None else epochs * per_epoch
    if not (isinstance(total, int) and total >= 1):
        raise SettingError(f"nothing to train: epochs={epochs!r}, iterations={iterations!r}")
    state = model.initial_state()
    rng = np.random.default_rng(seed)
    history = {k: [] for k in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")}
    step, epoch, start = 0, 0, time.perf_counter()
    while step < total:
        epoch += 1
        order = rng.permutation(len(X))
        losses, correct, seen = [], 0, 0
        for i in range(0, len(X), batch_size):
            if step == total:
                break
            idx = order[i:i + batch_size]
            xb, yb = X[idx], y[idx]
            feats = model.features(state, xb)

            def batch_loss(scores, yb=yb):
                nonlocal correct
                correct += int(np.sum(np.argmax(scores, axis=1) == yb))
                value, grad = loss_fn(scores, yb)
                return value, grad.astype(scores.dtype, copy=False)

            value, flat_grad, fgrad = model.plan.value_and_grad(model.weights(state), feats, batch_loss,
                                                                feature_grad=bool(rep.params))
            grads = {"network": flat_grad, **(rep.backward(xb, fgrad, domain) if rep.params else {})}
            rate = lr * factor(step / total)
            opt.step(state, grads, rate)
            losses.append(value)
            seen += len(idx)
            step += 1
            if callback is not None:
                callback(step, FitResult(None, None, history, domain, rep, model, state))
        history["epoch"].append(epoch)
        history["loss"].append(float(np.mean(losses)))
        history["accuracy"].append(correct / seen)
        history["lr"].append(rate)
        if validation is not None:
            scores = model.scores(state, validation[0])
            history["val_loss"].append(loss_fn(scores, validation[1])[0])
            history["val_accuracy"].append(float(np.mean(np.argmax(scores, axis=1) == validation[1])))
        history["seconds"].append(time.perf_counter() - start)
        if not np.isfinite(history["loss"][-1]):
            raise SettingError(f"training diverged at epoch {epoch} (loss {history['loss'][-1]}): lower lr={lr!r}")
        if progress:
            val = f" val_loss {history['val_loss'][-1]:.4f} val_acc {history['val_accuracy'][-1]:.4f}" \
                if validation is not None else ""
            print(f"epoch {epoch} step {step}/{total} loss {history['loss'][-1]:.4f} "
                  f"acc {history['accuracy'][-1]:.4f}{val} ({history['seconds'][-1]:.1f} s)", file=sys.stderr)
    if validation is None:
        del history["val_loss"], history["val_accuracy"]
    params = model.by_name(state)
    return FitResult(model.trained_network(params), params, history, domain, rep, model, state)


# ---------------------------------------------------------------------- a pure function for other backends
def _backend(name):
    if name == "numpy":
        return np
    if name == "jax":
        try:
            import jax.numpy as jnp
        except ImportError as exc:
            raise SettingError("as_function(backend='jax') needs jax (an optional extra: pip install jax)") from exc
        return jnp
    raise SettingError(f"backend={name!r} must be 'numpy' or 'jax'")


def as_function(result, backend="numpy"):
    """``(fn, params)`` of a :class:`FitResult`: ``fn(params, X) -> class scores``, pure, in ``backend``'s arrays.

    It replays the executor's level-batched steps with ``backend``'s array ops only (stack, matmul,
    exp, log, max, where), so under ``backend="jax"`` it can be ``jax.jit``-ed and ``jax.grad``-ed.
    ``params`` are converted to the backend's arrays. Representations: given features, binary pixels,
    fixed maps (computed in numpy before the call) and :class:`LinearPatches` (traced).
    """
    xp = _backend(backend)
    model, params = result._model, result.params
    plan, domain, rep, owner_of = model.plan, model.domain, model.representation, model.owner_of
    log = domain == "log"

    def features(p, X):
        if isinstance(rep, LinearPatches):
            f = xp.asarray(X) @ p[("representation", "A")] + p[("representation", "c")]
            return xp.transpose(f, (1, 0, 2))
        return xp.asarray(rep.features(np.asarray(X), domain))

    def fn(p, X):
        store = {0: features(p, X)}
        for step in plan.steps:
            if step[0] == "matmul":
                _, gid, src, where, positions, transposed, _ = step
                x = store[src] if where is None else store[src][where]
                w = xp.stack([p[owner_of[q]] for q in positions])
                w = xp.transpose(w, (0, 2, 1)) if transposed else w
                if log:
                    mx = xp.max(x, axis=2, keepdims=True)
                    mx = xp.where(xp.isfinite(mx), mx, 0.0)
                    my = xp.max(w, axis=1, keepdims=True)
                    my = xp.where(xp.isfinite(my), my, 0.0)
                    store[gid] = xp.log(xp.matmul(xp.exp(x - mx), xp.exp(w - my))) + mx + my
                else:
                    store[gid] = xp.matmul(x, w)
            else:
                parts = [store[s] if wh is None else store[s][wh] for s, wh in step[2]]
                acc = parts[0]
                for part in parts[1:]:
                    acc = acc + part if log else acc * part
                store[step[1]] = acc
        gid, row = plan.root
        return store[gid][row]

    return fn, {k: xp.asarray(v) for k, v in params.items()}


__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "REPRESENTATIONS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "Binary",
    "FeatureMap",
    "FitResult",
    "Given",
    "LinearPatches",
    "Representation",
    "as_function",
    "cross_entropy",
    "fit",
    "squared",
]
