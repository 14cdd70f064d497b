"""The optimisers of Gatys: ``run(n) -> losses`` runners doing ``n`` compiled steps on the image variable
(Adam with a constant or cosine rate; L-BFGS)."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from stx_tf.nst.config import StylizeConfig
from stx_tf.nst.objective import StyleObjective


def _compiled_loop(step: Callable, jit_compile: bool = False):
    """``run(n) -> losses (n,)``: ``n`` calls of the compiled ``step() -> loss``.

    The step is one ``tf.function`` (traced once) called from a Python loop; the losses stay tensors until
    the ``n`` steps are done: on CPU no slower than a ``tf.while_loop`` of the steps inside one graph
    (``benchmarks/README.md``), since a call costs far less than a step.
    """
    import tensorflow as tf

    compiled = tf.function(step, jit_compile=jit_compile, autograph=False)

    def run(n):
        return tf.stack([compiled() for _ in range(int(n))])

    return run


def _loss_and_gradient_of(objective, variable):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = objective.step_loss(variable.value)
    return loss, tape.gradient(loss, variable.value)


def adam_runner(objective: StyleObjective, variable, cfg: StylizeConfig, total_steps: int | None = None):
    """A compiled ``run(n) -> losses (n,)`` doing ``n`` Adam steps on ``variable`` in one graph call.

    Each step: loss and gradient, Adam update (``learning_rate``, ``beta_1``, ``beta_2``, ``epsilon``; the
    TensorFlow tutorial's 0.02, 0.99, 0.999, 0.1), clip to [0, 1]. With ``schedule="cosine"`` the rate
    decays over ``total_steps`` to ``final_lr_fraction`` of ``learning_rate`` (and stays there). The
    returned losses are those before each update.
    """
    learning_rate = cfg.learning_rate
    if cfg.schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            cfg.learning_rate,
            decay_steps=max(1, int(total_steps or cfg.epochs * cfg.steps_per_epoch)),
            alpha=cfg.final_lr_fraction,
        )
    optimizer = FusedAdam(variable, learning_rate, cfg.beta_1, cfg.beta_2, cfg.epsilon)

    def step():
        loss, grad = _loss_and_gradient_of(objective, variable)
        optimizer.apply(grad)
        variable.assign(ops.clip(variable.value, 0.0, 1.0))
        return loss

    run = _compiled_loop(step, cfg.jit_compile)
    run.optimizer = optimizer  # its learning_rate is the scheduled rate of the next step
    return run


class FusedAdam:
    """Adam (Kingma & Ba, https://arxiv.org/abs/1412.6980) on one variable with TensorFlow's fused kernel.

    The maths of ``keras.optimizers.Adam`` (bias correction folded into the rate, ``epsilon`` added to
    ``sqrt(v)``), as one ``ResourceApplyAdam`` pass over the pixels instead of Keras' several elementwise
    ops: the Gatys step updates a whole image every step (timings in ``benchmarks/README.md``).

    Args:
        variable: the ``keras.Variable`` to update.
        learning_rate: a float or a schedule ``f(iterations) -> rate``.
        beta_1, beta_2, epsilon: Adam's constants.
    """

    def __init__(self, variable, learning_rate, beta_1: float, beta_2: float, epsilon: float):
        import tensorflow as tf

        self.variable = variable
        self.schedule = learning_rate
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations")
        self.momentum = tf.Variable(tf.zeros(variable.shape, tf.float32), trainable=False, name="momentum")
        self.velocity = tf.Variable(tf.zeros(variable.shape, tf.float32), trainable=False, name="velocity")

    @property
    def learning_rate(self):
        """The rate of the next step (a float32 tensor)."""
        import tensorflow as tf

        rate = self.schedule(self.iterations) if callable(self.schedule) else self.schedule
        return tf.cast(rate, tf.float32)

    def apply(self, grad) -> None:
        """One Adam step of ``variable`` along ``grad``."""
        import tensorflow as tf

        rate = self.learning_rate
        t = tf.cast(self.iterations + 1, tf.float32)
        beta_1, beta_2 = tf.constant(self.beta_1, tf.float32), tf.constant(self.beta_2, tf.float32)
        tf.raw_ops.ResourceApplyAdam(
            var=self.variable.value.handle,
            m=self.momentum.handle,
            v=self.velocity.handle,
            beta1_power=tf.pow(beta_1, t),
            beta2_power=tf.pow(beta_2, t),
            lr=rate,
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.constant(self.epsilon, tf.float32),
            grad=tf.cast(grad, tf.float32),
        )
        self.iterations.assign_add(1)


def lbfgs_runner(objective: StyleObjective, variable, cfg: StylizeConfig, total_steps: int | None = None):
    """A compiled ``run(n) -> losses (n,)`` doing ``n`` L-BFGS iterations on ``variable`` in one call.

    Limited-memory BFGS (Nocedal 1980; ``cfg.lbfgs_memory`` correction pairs, two-loop recursion) with a
    unit step like ``torch.optim.LBFGS`` (the first step scaled by ``min(1, 1/‖g‖₁)``), projected onto
    [0, 1]. One loss-and-gradient evaluation per iteration, so an iteration costs about one Adam step; pairs
    with non-positive curvature ``yᵀs`` are skipped. The memory lives in variables, so consecutive calls
    continue the same run. ``total_steps`` is unused (the signature of :func:`adam_runner`).
    """
    import tensorflow as tf

    m = int(cfg.lbfgs_memory)
    size = int(np.prod(variable.shape))
    s_mem = tf.Variable(tf.zeros((m, size)), trainable=False)  # (m, N) past steps, oldest first
    y_mem = tf.Variable(tf.zeros((m, size)), trainable=False)  # (m, N) past gradient changes
    rho = tf.Variable(tf.zeros((m,)), trainable=False)  # 1 / yᵀs
    stored = tf.Variable(0, trainable=False)  # pairs held (<= m), the newest in the last rows
    x_prev = tf.Variable(tf.zeros((size,)), trainable=False)
    g_prev = tf.Variable(tf.zeros((size,)), trainable=False)
    started = tf.Variable(False, trainable=False)

    def remember(x, g):
        s, y = x - x_prev, g - g_prev
        ys = tf.reduce_sum(y * s)

        def push():
            s_mem.assign(tf.concat([s_mem[1:], s[None]], 0))
            y_mem.assign(tf.concat([y_mem[1:], y[None]], 0))
            rho.assign(tf.concat([rho[1:], [1.0 / ys]], 0))
            stored.assign(tf.minimum(stored + 1, m))
            return tf.constant(True)

        return tf.cond(tf.logical_and(started, ys > 1e-10), push, lambda: tf.constant(False))

    @tf.function(jit_compile=True)  # XLA fuses the 4m vector passes (op by op is several times slower)
    def two_loop(g, s_all, y_all, rho_all, stored):
        s_rows, y_rows = tf.unstack(s_all), tf.unstack(y_all)
        q, alphas = g, {}
        for j in range(m - 1, -1, -1):  # newest to oldest
            alphas[j] = tf.where(m - j <= stored, rho_all[j] * tf.reduce_sum(s_rows[j] * q), 0.0)
            q = q - alphas[j] * y_rows[j]
        first_scale = tf.minimum(1.0, 1.0 / (tf.reduce_sum(tf.abs(g)) + 1e-30))
        newest_sy = tf.reduce_sum(s_rows[-1] * y_rows[-1]) / (tf.reduce_sum(y_rows[-1] * y_rows[-1]) + 1e-30)
        r = tf.where(stored > 0, newest_sy, first_scale) * q
        for j in range(m):  # oldest to newest
            beta = rho_all[j] * tf.reduce_sum(y_rows[j] * r)
            r = r + tf.where(m - j <= stored, alphas[j] - beta, 0.0) * s_rows[j]
        return -r

    def direction(g):
        return two_loop(g, s_mem.value(), y_mem.value(), rho.value(), stored.value())

    def step():
        loss, grad = _loss_and_gradient_of(objective, variable)
        x, g = tf.reshape(variable.value, (-1,)), tf.reshape(grad, (-1,))
        with tf.control_dependencies([remember(x, g)]):
            d = direction(g)
        x_prev.assign(x)
        g_prev.assign(g)
        started.assign(True)
        variable.assign(tf.reshape(tf.clip_by_value(x + d, 0.0, 1.0), variable.shape))
        return loss

    return _compiled_loop(step, cfg.jit_compile)


RUNNERS = {"adam": adam_runner, "lbfgs": lbfgs_runner}
