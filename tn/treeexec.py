"""Level-batched forward passes on tree networks of matrices.

A ConvAC, a dilated ConvNet or a CP network is a tree of matrices joined by delta hyperedges:
every tensor has one index toward the inputs ("down") and one toward the output ("up"); every
junction (hyperedge or plain bond) multiplies the messages of its children elementwise (product
pooling). With a batch of features on the input legs, the forward pass sends a (B, dim) message
up every edge. Instead of one numpy call per tensor, this executor groups the tensors of one tree
height with the same weight shape and the same message source, and runs each group as one stacked
``np.matmul`` (one plain GEMM when the group shares one weight array, as in a dilated ConvNet), and
each group of junctions as one elementwise product per child slot: O(depth) numpy calls for N inputs.

:func:`tree_plan` returns ``None`` for any network this does not fit (the engine then contracts
along an einsum path), so callers can always ask.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import numpy as np

from . import memory
from .cost import ContractionCost
from .errors import DomainError, SettingError, ShapeError

DOMAINS = ("linear", "log")


def check_domain(domain):
    """``domain`` if it is ``"linear"`` or ``"log"``, else a :class:`~tn.errors.SettingError`."""
    if domain not in DOMAINS:
        raise SettingError(f"domain={domain!r} must be 'linear' or 'log'")
    return domain


class Weights:
    """One version of a network's arrays as a :class:`TreePlan` consumes them (:meth:`TreePlan.prepare`).

    ``steps[k]`` is, for matmul step k, ``(W, shared)`` in the linear domain and ``(E, shift, theta, shared)``
    in the log domain, where ``theta`` = log W and ``E = exp(theta - shift)`` (shift = the column maxima),
    so that a logsumexp 1x1 conv is one GEMM. ``W``/``theta`` are oriented (din, dout): one matrix when the
    group shares one array, else an (n, din, dout) stack. ``owner[p]`` is the first tensor position holding
    the same array object as position p (gradients are summed per array).
    """

    __slots__ = ("domain", "dtype", "layout", "owner", "plan", "steps")

    def __init__(self, plan, domain, steps, owner, dtype, layout=None):
        self.plan, self.domain, self.steps, self.owner, self.dtype = plan, domain, steps, owner, dtype
        self.layout = layout


def _entry(w, domain, shared):
    """One matmul step's entry of :class:`Weights` from its oriented weights (log domain: theta)."""
    if domain == "linear":
        return w, shared
    shift = w.max(axis=-2, keepdims=True)
    shift[~np.isfinite(shift)] = 0  # an all-zero column: exp(-inf - 0) = 0, no nan
    return np.exp(w - shift), shift, w, shared


class Layout:
    """All parameters of a plan in one flat vector (training): one block per array, in owner order.

    ``index[k]`` gathers matmul step k's oriented weights from the vector in one fancy index (no
    per-tensor stacking), and :meth:`gradient` scatters the step cotangents back: an optimizer then
    updates one vector with a few numpy calls, whatever the number of tensors.
    """

    def __init__(self, plan, shapes, owner):
        self.plan, self.owner = plan, list(owner)
        self.blocks, size = {}, 0  # owner position -> (start, shape)
        for p, o in enumerate(self.owner):
            if o == p:
                self.blocks[p] = (size, tuple(shapes[p]))
                size += int(np.prod(shapes[p]))
        self.size, self.index = size, {}
        for k, step in enumerate(plan.steps):
            if step[0] != "matmul":
                continue
            positions, transposed = step[4], step[5]
            owners = [self.owner[q] for q in positions]
            shared = len(set(owners)) == 1
            mats = []
            for o in owners[:1] if shared else owners:
                start, shape = self.blocks[o]
                a = np.arange(start, start + int(np.prod(shape))).reshape(shape)
                mats.append(a.T if transposed else a)
            self.index[k] = (mats[0] if shared else np.stack(mats), shared, shared or len(set(owners)) == len(owners))

    def flatten(self, arrays) -> np.ndarray:
        """Arrays by tensor position -> the flat vector."""
        return np.concatenate([np.ravel(arrays[o]) for o in self.blocks])

    def unflatten(self, flat) -> dict:
        """Owner position -> a view of its block of ``flat``."""
        return {o: flat[start:start + int(np.prod(shape))].reshape(shape) for o, (start, shape) in self.blocks.items()}

    def weights(self, flat, domain="linear") -> Weights:
        """:class:`Weights` of a flat vector (log domain: the vector holds theta = log W)."""
        steps = {k: _entry(flat[idx], check_domain(domain), shared) for k, (idx, shared, _) in self.index.items()}
        return Weights(self.plan, domain, steps, self.owner, flat.dtype, self)

    def gradient(self, step_grads, dtype) -> np.ndarray:
        """Step cotangents (oriented, as :meth:`TreePlan._backward` makes them) -> one flat gradient."""
        g = np.zeros(self.size, dtype)
        for k, gw in step_grads.items():
            idx, _, unique = self.index[k]
            if unique:
                g[idx] += gw
            else:
                np.add.at(g, idx, gw)
        return g


class TreePlan:
    """A compiled level-batched forward (and backward) pass; structure only, arrays are supplied per call.

    ``steps`` run in order; each creates one group of messages (an array (rows, B, width)).
    ``free[k]`` lists the groups no step after step k reads. Every group is written into a
    preallocated buffer (``np.matmul(..., out=)``, ``np.multiply(..., out=)``); ``buffer_of`` maps
    groups to buffers so that a buffer whose group is no longer read is reused by a later group
    (:func:`_assign_buffers`). The buffers of the last batch size and dtype are kept between calls (per
    thread): fresh multi-megabyte allocations page-fault on every call, reused ones do not, which
    is most of the difference to a plain layer-by-layer numpy forward. :meth:`release` drops them.

    Two domains: ``"linear"`` (products and matrix products) and ``"log"`` (every message is the log
    of the linear one: product pooling adds, a 1x1 conv is a logsumexp; theory §12). The backward pass
    (:meth:`value_and_grad`) keeps every group (a tape, also pooled) and sends cotangents down the
    same steps in reverse: one stacked GEMM pair per matmul group, one elementwise op per product slot.
    """

    def __init__(self, steps, root, legs, sizes, free):
        self.steps, self.root, self.legs, self.sizes, self.free = steps, root, legs, sizes, free
        self.buffer_of, self.capacity = _assign_buffers(steps, sizes, free)
        self._local = threading.local()

    def cost(self, batch, itemsize=8):
        """Exact :class:`~tn.cost.ContractionCost` of the linear forward on ``batch`` rows (path = []).

        The peak counts the caller's features and every buffer (they are all held during a call).
        """
        flops, largest, largest_gid = 0, 0, 0
        for step in self.steps:
            rows, width = self.sizes[step[1]]
            flops += rows * width * (step[6] if step[0] == "matmul" else len(step[2]) - 1)  # k - 1 products
            if rows * width > largest:
                largest, largest_gid = rows * width, step[1]
        peak = self.sizes[0][0] * self.sizes[0][1] + sum(self.capacity)
        return ContractionCost(flops * batch, largest * batch, ("batch", f"group{largest_gid}"), peak * batch, [],
                               itemsize)

    def release(self):
        """Drop this thread's kept buffers."""
        self._local.__dict__.clear()
        memory.POOLS.hold(self, 0)

    def release_all(self):
        """Drop every thread's kept buffers (the memory guard's LRU eviction, ``tn.clear_cache()``)."""
        self._local = threading.local()
        memory.POOLS.forget(self)

    def _buffers(self, batch, dtype, kind):
        """Kept buffers: ``"forward"`` (shared by groups, see :func:`_assign_buffers`); ``"tape"`` and
        ``"cotangent"`` (one per group, index = group id; group 0, the features, has none in the tape);
        ``"exp"`` (log domain: the shifted exponentials of every matmul step's input, by step)."""
        key = (batch, np.dtype(dtype))
        pools = self._local.__dict__.setdefault("pools", {})
        if kind not in pools or pools[kind][0] != key:
            if kind == "forward":
                caps = self.capacity
            elif kind == "exp":
                caps = [self.sizes[s[1]][0] * s[6] if s[0] == "matmul" else 0 for s in self.steps]
            else:
                caps = [rows * width for rows, width in (self.sizes[g] for g in range(len(self.sizes)))]
                if kind == "tape":
                    caps[0] = 0
            pools[kind] = (key, [np.empty(cap * batch, dtype) for cap in caps])
            memory.POOLS.hold(self, sum(b.nbytes for _, kept in pools.values() for b in kept))  # the guard counts them
        return pools[kind][1]

    # ------------------------------------------------------------------ weights
    def prepare(self, arrays, domain="linear", names=None, logs=False) -> Weights:
        """The network's arrays (tensor order) stacked per matmul group, once per weight version.

        In the log domain the arrays must be non-negative (``logs=True``: they are log-weights already);
        ``names`` (tensor order) name the offending tensor in the error.
        """
        check_domain(domain)
        first, owner = {}, []
        for p, a in enumerate(arrays):
            owner.append(first.setdefault(id(a), p))
        steps = {}
        for k, step in enumerate(self.steps):
            if step[0] != "matmul":
                continue
            positions, transposed = step[4], step[5]
            shared = all(owner[p] == owner[positions[0]] for p in positions)
            if shared:
                w = np.asarray(arrays[positions[0]])
                w = w.T if transposed else w
            else:
                w = np.stack([arrays[p] for p in positions])
                w = w.transpose(0, 2, 1) if transposed else w
            if domain == "log" and not logs:
                w = _log_of(w, "tensor", [names[p] if names else f"#{p}" for p in positions], shared)
            steps[k] = _entry(w, domain, shared)
        dtype = np.result_type(*(s[0] for s in steps.values())) if steps else np.dtype(np.float64)
        return Weights(self, domain, steps, owner, dtype)

    # ------------------------------------------------------------------ passes
    def __call__(self, arrays, features, domain="linear", weights=None):
        """Run on the network's arrays (in tensor order), or on prepared ``weights``; ``features``: (B, dim)
        arrays aligned with ``self.legs``, or one (n_legs, B, dim) array (log domain: their logs).
        Returns a new (B, width) array (log domain: the logs of the outputs)."""
        weights = self.prepare(arrays, domain) if weights is None else weights
        return self._run(weights, features, tape=False)[0]

    def value_and_grad(self, weights, features, loss_fn, feature_grad=False):
        """``(value, grads, feature cotangent or None)`` of ``loss_fn(out) -> (value, d value / d out)``.

        ``grads`` maps the owner position of every array (:attr:`Weights.owner`) to the gradient of the
        loss with respect to that array, summed over every tensor holding it (for weights made by a
        :class:`Layout`: one flat gradient vector); in the log domain with respect to its log (theta), and
        the feature cotangent is with respect to the log features.
        """
        out, tape = self._run(weights, features, tape=True)
        value, grad_out = loss_fn(out)
        grad_out = np.asarray(grad_out)
        if grad_out.shape != out.shape:
            raise ShapeError(f"the loss gradient has shape {grad_out.shape}, the output has shape {out.shape}")
        step_grads, fgrad = self._backward(weights, tape, grad_out, feature_grad)
        if weights.layout is not None:
            return value, weights.layout.gradient(step_grads, tape[2]), fgrad
        grads = {}
        for k, gw in step_grads.items():
            _, _, _, positions, transposed, _ = self.steps[k][1:]
            _add_grads(grads, gw, positions, transposed, weights.steps[k][-1], weights.owner)
        return value, grads, fgrad

    def _run(self, weights, features, tape):
        feats = features if isinstance(features, np.ndarray) else np.stack(features)  # (n_legs, B, M)
        dtype = np.result_type(feats.dtype, weights.dtype)
        batch, log = feats.shape[1], weights.domain == "log"
        buffers = self._buffers(batch, dtype, "tape" if tape else "forward")
        exps = self._buffers(batch, dtype, "exp") if log else None
        store, aux = {0: feats}, {}
        for k, step in enumerate(self.steps):
            gid = step[1]
            rows, width = self.sizes[gid]
            out = buffers[gid if tape else self.buffer_of[gid]][:rows * batch * width].reshape(rows, batch, width)
            if step[0] == "matmul":
                x = _gather(store[step[2]], step[3])
                if log:
                    ex = exps[k][:x.size].reshape(x.shape)
                    aux[k] = _lse_forward(x, weights.steps[k], out, ex)
                else:
                    _matmul(x, *weights.steps[k], out)
            else:
                op = np.add if log else np.multiply
                (src, where), *rest = step[2]
                op(_gather(store[src], where), _gather(store[rest[0][0]], rest[0][1]), out=out)
                for src, where in rest[1:]:
                    op(out, _gather(store[src], where), out=out)
            store[gid] = out
        gid, row = self.root
        return store[gid][row].copy(), (store, aux, dtype)

    def _backward(self, weights, tape, grad_out, feature_grad):
        store, aux, dtype = tape
        batch, log = store[0].shape[1], weights.domain == "log"
        cot = self._buffers(batch, dtype, "cotangent")
        cot = {g: cot[g][:r * batch * w].reshape(r, batch, w) for g, (r, w) in self.sizes.items()}
        gid, row = self.root
        cot[gid][row] = grad_out
        grads = {}
        for k in reversed(range(len(self.steps))):
            step = self.steps[k]
            G = cot[step[1]]
            if step[0] == "matmul":
                src, where = step[2], step[3]
                need_x = src != 0 or feature_grad
                x = _gather(store[src], where)
                view = _view(cot[src], where) if need_x else None
                if log:
                    gx, gw = _lse_backward(x, store[step[1]], G, weights.steps[k], aux[k], need_x, view)
                else:
                    gx, gw = _matmul_backward(x, G, *weights.steps[k], need_x, view)
                if need_x and gx is not view:
                    _put(cot[src], where, gx)
                grads[k] = gw
            elif log:  # d(sum of slots) / d slot = 1
                for src, where in step[2]:
                    _put(cot[src], where, G)
            else:
                values = [_gather(store[src], where) for src, where in step[2]]
                for s, (src, where) in enumerate(step[2]):
                    others, view = values[:s] + values[s + 1:], _view(cot[src], where)
                    if view is None:
                        _put(cot[src], where, G * _product(others))
                        continue
                    np.multiply(G, others[0], out=view)
                    for v in others[1:]:
                        view *= v
        return grads, (cot[0].copy() if feature_grad else None)


def _log_of(w, what, names, shared):
    """log(w) for non-negative w (zeros give -inf); a DomainError naming the first negative tensor."""
    negative = w < 0
    if negative.any():
        bad = names[0] if shared else names[int(np.nonzero(negative.reshape(len(names), -1).any(axis=1))[0][0])]
        raise DomainError(f"{what} {bad!r} has negative entries (min {float(w.min()):.3g}): the log domain needs "
                          "non-negative weights and features (weights exp(theta))")
    with np.errstate(divide="ignore"):
        return np.log(w)


def log_features(feats, legs):
    """Logs of non-negative features ((n_legs, B, M) array or a list of (B, M)), checked per leg."""
    feats = feats if isinstance(feats, np.ndarray) else np.stack(feats)
    return _log_of(feats, "features for leg", list(legs), False)


def _tiny(dtype):
    info = np.finfo(dtype)
    return info.tiny / info.eps  # a GEMM sum below this may have lost its leading terms to underflow


def _matmul(x, w, shared, out):
    """Messages x (n, B, din) times the oriented weights into ``out`` (n, B, dout)."""
    if shared:  # one weight for the group: a single GEMM over n*B rows
        n, b, din = x.shape
        np.matmul(x.reshape(n * b, din), w, out=out.reshape(n * b, out.shape[2]))
    else:
        np.matmul(x, w, out=out)


def _matmul_backward(x, G, w, shared, need_x, out=None):
    """(cotangent of x (into ``out`` when given), cotangent of the oriented weights)."""
    n, b, din = x.shape
    if shared:
        gw = x.reshape(n * b, din).T @ G.reshape(n * b, -1)
    else:
        gw = np.matmul(x.transpose(0, 2, 1), G)
    if not need_x:
        return None, gw
    return np.matmul(G, w.T if shared else w.transpose(0, 2, 1), out=out), gw


def _lse_forward(x, entry, out, ex):
    """out = log sum_a exp(x[.., a] + theta[a, g]) as shifted exponentials ``ex`` and one GEMM.

    Rows whose GEMM sum underflows (the row maxima of x and the column maxima of theta sit on
    different a, far apart) are recomputed exactly. Returns (row shifts, those rows, ex) for the backward.
    """
    E, shift, theta, shared = entry
    mx = x.max(axis=2, keepdims=True)
    mx[~np.isfinite(mx)] = 0
    np.subtract(x, mx, out=ex)
    np.exp(ex, out=ex)
    _matmul(ex, E, shared, out)
    bad = np.nonzero((out < _tiny(out.dtype)).any(axis=2))
    with np.errstate(divide="ignore"):
        np.log(out, out=out)
    out += mx
    out += shift
    if len(bad[0]):
        out[bad] = _lse_exact(x[bad], theta if shared else theta[bad[0]])[0]
    return mx, bad, ex


def _lse_exact(xr, theta):
    """logsumexp over a of xr[k, a] + theta[(k,) a, g] by brute force: (values (k, dout), probabilities)."""
    z = xr[:, :, None] + theta
    top = z.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0
    values = np.log(np.exp(z - top).sum(axis=1)) + top[:, 0, :]
    return values, z


def _lse_backward(x, out, G, entry, aux, need_x, view=None):
    """Cotangents of x and theta: softmax weights exp(x_a + theta_ag - out_g) times G, as two GEMMs."""
    E, shift, theta, shared = entry
    mx, bad, ex = aux
    Q = np.add(mx, shift)
    Q -= out
    with np.errstate(over="ignore", invalid="ignore"):
        np.exp(Q, out=Q)
        Q *= G  # G / (the GEMM sum)
    Q[bad] = 0
    gx, gw = _matmul_backward(ex, Q, E, shared, need_x, view)
    gw *= E
    if need_x:
        gx *= ex
    if len(bad[0]):  # the exactly recomputed rows
        _, z = _lse_exact(x[bad], theta if shared else theta[bad[0]])
        with np.errstate(invalid="ignore"):
            P = np.exp(z - out[bad][:, None, :])
        P[~np.isfinite(P)] = 0
        PG = P * G[bad][:, None, :]
        if need_x:
            gx[bad] = PG.sum(axis=2)
        if shared:
            gw += PG.sum(axis=0)
        else:
            np.add.at(gw, bad[0], PG)
    return gx, gw


def _add_grads(grads, gw, positions, transposed, shared, owner):
    """Weight cotangents of one matmul group, back in each tensor's orientation, summed per array."""
    for p, g in zip(positions[:1], [gw]) if shared else zip(positions, gw):
        g = g.T if transposed else g
        o = owner[p]
        grads[o] = grads[o] + g if o in grads else g


def _view(target, where):
    """The rows ``where`` of ``target`` as a writable view, or None for an index array (a copy)."""
    if where is None:
        return target
    return target[where] if isinstance(where, slice) else None


def _put(target, where, value):
    if where is None:
        target[...] = value
    else:
        target[where] = value


def _product(values):
    out = values[0]
    for v in values[1:]:
        out = out * v
    return out


def _assign_buffers(steps, sizes, free):
    """Group -> buffer index, and each buffer's capacity (elements per batch row).

    A group takes the smallest idle buffer large enough (a buffer is idle once the step that last
    reads its group has run), else a new one: a binary tree then ping-pongs between two buffers the
    way a fresh-allocation forward reuses freed memory, so the memory written is still in cache.
    """
    buffer_of, capacity, idle = {}, [], []
    for k, step in enumerate(steps):
        rows, width = sizes[step[1]]
        fits = [b for b in idle if capacity[b] >= rows * width]
        if fits:
            best = min(fits, key=capacity.__getitem__)
            idle.remove(best)
        else:
            best = len(capacity)
            capacity.append(rows * width)
        buffer_of[step[1]] = best
        idle += [buffer_of[g] for g in free[k] if g in buffer_of]  # last read by step k: free from k + 1 on
    return buffer_of, capacity


def _gather(array, rows):
    return array if rows is None else array[rows]


def tree_plan(net, legs):
    """Compile the level-batched plan for feeding ``legs``, or ``None`` if the network is not a matrix tree.

    Requirements: every tensor is a matrix; every fed leg sits on exactly one tensor; exactly one
    open leg is left unfed and sits on one tensor (the root) or is itself the root junction, shared by
    several tensors (a headless network: the product of their outputs is the output, e.g. the paper's
    baseline dilated network, ``head=None``); the graph of tensors and junctions is a tree in which
    every tensor has exactly one index toward the inputs.
    """
    legs = tuple(legs)
    fed = set(legs)
    unfed = [i for i in net.output if i not in fed]
    where = net.index_map
    if len(unfed) != 1 or any(len(where[leg]) != 1 for leg in legs):
        return None
    if not legs or len({net.size(leg) for leg in legs}) != 1:
        return None  # features are stacked into one (n_legs, B, M) array
    if any(len(net.inds(t)) != 2 for t in net.tensor_names):
        return None
    top = unfed[0]
    children = defaultdict(list)  # junction index -> child tensors
    if len(where[top]) == 1:
        root = where[top][0]
        up, down, seen_junctions = {root: top}, {}, set()
    else:  # a headless root: the open leg is the top junction, below a virtual identity
        root = _HEAD
        up, down, seen_junctions = {c: top for c in where[top]}, {_HEAD: top}, {top}
        children[top] = list(where[top])
    # orient from the root: each tensor's up index leads to its parent junction
    stack = list(up)
    while stack:
        t = stack.pop()
        (d,) = [i for i in net.inds(t) if i != up[t]]
        down[t] = d
        if d in fed:
            continue
        if d in seen_junctions or d in net.output:
            return None  # a cycle, or an open leg in the middle of the tree
        seen_junctions.add(d)
        for c in where[d]:
            if c == t:
                continue
            if c in up:
                return None
            up[c] = d
            children[d].append(c)
            stack.append(c)
        if not children[d]:
            return None  # a dangling summed index: not a product junction
    if len(up) != len(net):
        return None  # a part of the network is not connected to the root
    return _schedule(net, legs, root, up, down, children)


_HEAD = object()  # the virtual tensor above a headless root junction (never a matmul; no tensor name can equal it)


def _schedule(net, legs, root, up, down, children):
    # plans are cached by structure, which tensor names are not part of: refer to tensors by position
    position = {name: p for p, name in enumerate(net.tensor_names)}
    leg_row = {leg: k for k, leg in enumerate(legs)}
    height, location = {}, {}  # node -> height; node -> (group id, row)
    order = []
    for t in _postorder(root, down, children):
        order.append(t)
        d = down[t]
        if d in leg_row:
            height[t] = 0
        else:
            height[d] = 1 + max(height[c] for c in children[d])
            height[t] = height[d]
    groups = defaultdict(list)  # key -> member nodes, in first-seen order
    junctions, tensors = defaultdict(list), defaultdict(list)
    for t in order:
        d = down[t]
        if d not in leg_row and len(children[d]) > 1:
            junctions[height[d]].append(d)
        if t is not _HEAD:
            tensors[height[t]].append(t)
    steps = []
    sizes = {0: (len(legs), net.size(legs[0]) if legs else 0)}  # group -> (rows, width)

    def new_group(rows, width):
        sizes[len(sizes)] = (rows, width)
        return len(sizes) - 1

    def rows_of(src, rows):
        """How to gather rows: None (all, in order), a slice (an arithmetic progression: a view), or indices."""
        rows = np.asarray(rows, dtype=np.intp)
        if len(rows) == sizes[src][0] and np.array_equal(rows, np.arange(len(rows))):
            return None
        step = rows[1] - rows[0] if len(rows) > 1 else 1
        if step > 0 and np.array_equal(rows, rows[0] + step * np.arange(len(rows))):
            return slice(int(rows[0]), int(rows[-1]) + 1, int(step))
        return rows

    def source(node):
        """(group, row) holding the message that flows up from a junction or a fed leg."""
        if node in leg_row:
            return 0, leg_row[node]
        if len(children[node]) == 1:  # a plain bond passes its child's message through
            return location[children[node][0]]
        return location[node]

    for h in range(max(height.values()) + 1):
        groups.clear()
        for d in junctions[h]:
            srcs = sorted(location[c] for c in children[d])
            groups[("prod", tuple(s[0] for s in srcs))].append((d, srcs))
        for key, members in groups.items():
            gid = new_group(len(members), net.size(members[0][0]))
            slots = [(src, rows_of(src, [m[1][s][1] for m in members])) for s, src in enumerate(key[1])]
            steps.append(("prod", gid, slots))
            for row, (d, _) in enumerate(members):
                location[d] = (gid, row)
        groups.clear()
        for t in tensors[h]:
            src = source(down[t])
            transposed = net.inds(t)[0] == up[t]
            groups[(src[0], net.shape(t), transposed)].append((t, src[1]))
        for (src, shape, transposed), members in groups.items():
            din, dout = shape[::-1] if transposed else shape
            gid = new_group(len(members), dout)
            steps.append(("matmul", gid, src, rows_of(src, [m[1] for m in members]), tuple(position[m[0]] for m in members),
                          transposed, din))
            for row, (t, _) in enumerate(members):
                location[t] = (gid, row)
    result = source(down[_HEAD]) if root is _HEAD else location[root]
    return TreePlan(steps, result, legs, sizes, _free_lists(steps, result[0]))


def _free_lists(steps, keep):
    """For each step, the groups read for the last time there (never the result group ``keep``)."""
    last = {}
    for k, step in enumerate(steps):
        reads = [step[2]] if step[0] == "matmul" else [s for s, _ in step[2]]
        for g in reads:
            last[g] = k
    free = [[] for _ in steps]
    for g, k in last.items():
        if g != keep:
            free[k].append(g)
    return free


def _postorder(root, down, children):
    out, stack = [], [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            out.append(t)
            continue
        stack.append((t, True))
        for c in reversed(children.get(down[t], ())):
            stack.append((c, False))
    return out


def parameter_groups(net) -> dict:
    """Owner tensor name -> names of every tensor holding the same array object (one parameter each).

    Examples
    --------
    >>> import builders
    >>> groups = parameter_groups(builders.deep_convac(4, M=2, widths=2, share="level"))
    >>> groups[("leaf", 0)]
    (('leaf', 0), ('leaf', 1), ('leaf', 2), ('leaf', 3))
    """
    first, groups = {}, {}
    for name in net.tensor_names:
        owner = first.setdefault(id(net.data(name)), name)
        groups.setdefault(owner, []).append(name)
    return {owner: tuple(names) for owner, names in groups.items()}


def value_and_grad(net, features, loss_fn, legs=None, domain="linear", feature_grad=False):
    """A loss of a batched forward pass and its gradient, through the level-batched executor.

    One forward pass that keeps its messages, then one backward pass down the same level-batched
    steps: about 2-3 forward passes in all, against the einsum route of :func:`tn.gradients.value_and_grad`.

    Parameters
    ----------
    net : TensorNetwork
        A tree network of matrices (:func:`tree_plan` applies); in the log domain with non-negative arrays.
    features : as for :meth:`TensorNetwork.evaluate`
        Non-negative in the log domain (their logs are fed).
    loss_fn : callable
        ``loss_fn(out) -> (value, d value / d out)``, ``out`` the (B, width) output of
        ``net.evaluate(features, domain=domain)`` (log domain: the log scores).
    legs, domain
        As for :meth:`TensorNetwork.evaluate`.
    feature_grad : bool
        Also return the cotangent of the (n_legs, B, M) features (log domain: of the log features).

    Returns
    -------
    value, grads[, feature cotangent]
        ``grads``: one entry per array (:func:`parameter_groups`: tensors holding the same array
        share one parameter, the gradient is summed over them), keyed by its owner tensor name, of
        that array's shape; in the log domain with respect to theta = log(array).

    Examples
    --------
    >>> import numpy as np, builders
    >>> net = builders.deep_convac(4, M=2, widths=3, seed=0)
    >>> x = np.random.default_rng(1).random((4, 5, 2))
    >>> value, grads = value_and_grad(net, x, lambda out: (out.sum(), np.ones_like(out)))
    >>> bool(np.isclose(value, net.evaluate(x).sum()))
    True
    >>> fed = net.fed_network(list(x), tuple(range(4)))   # the environment route, for comparison
    >>> np.allclose(grads[("leaf", 0)], fed.gradients(np.ones((5, 1)))[("leaf", 0)])
    True
    """
    legs, mats = net._features(features, legs)
    plan = net._tree_plan(legs, "tree")
    weights = net._tree_weights(plan, check_domain(domain))
    feats = log_features(mats, legs) if domain == "log" else mats
    value, grads, fgrad = plan.value_and_grad(weights, feats, loss_fn, feature_grad)
    names = net.tensor_names
    grads = {names[p]: g for p, g in grads.items()}
    return (value, grads, fgrad) if feature_grad else (value, grads)
