"""One GAN train step for both Keras backends, in the keras-io shape.

A painter model (CycleGAN, CUT, ...) writes its maths once, in ``keras.ops``, as
``loss_fn(data) -> (objective, per_example)``: a scalar whose gradient with respect to EVERY trainable
variable is that variable's own update direction, plus the per-example terms its
``keras.metrics.Mean`` trackers report. Its ``train_step`` then calls :func:`train_step`, which runs

* under TensorFlow: one ``GradientTape``, one gradient call, ``optimizer.apply`` (loss scaling under
  ``mixed_float16``); any ``tf.distribute`` strategy, the loss being reduced with the GLOBAL batch
  (:func:`global_batch`);
* under JAX: the stateless ``train_step(state, data)`` - ``jax.value_and_grad`` of the same function under
  a ``keras.StatelessScope`` that maps every variable to its value in ``state`` and collects the updates of
  non-trainable ones (image pools, random-seed states, norm statistics), then ``stateless_apply``.

How one objective serves several nets (Goodfellow et al. 2014's alternating game in one step): where a
generator's loss uses a discriminator, the discriminator is called through :func:`frozen` (its variables
enter as ``stop_gradient`` values), and where a discriminator's loss uses generated images they come in
as ``stop_gradient`` images (the image pool does that). Each net's gradient of the sum is then exactly the
gradient of its own loss, and one Adam over all the variables is the same update as one Adam per net with
equal settings (Adam is element-wise and all nets step together).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops


def replicas() -> int:
    """Replicas whose gradients are summed after the step: the ``tf.distribute`` strategy's replicas
    under TensorFlow; 1 under JAX, whose data-parallel step sees the whole global batch."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.distribute.get_strategy().num_replicas_in_sync
    return 1


def global_batch(x):
    """The GLOBAL batch size of a step whose per-replica batch is ``x``: what losses are divided by."""
    return ops.shape(x)[0] * replicas()


def frozen(net, inputs, training: bool = True):
    """Call ``net`` with its variables entering as constants (``stop_gradient``): the caller's loss moves
    what the net sees, never the net itself. Its non-trainable updates (batch-norm statistics) are dropped."""
    mapping = [(v, ops.stop_gradient(v.value)) for v in net.trainable_variables]
    mapping += [(v, v.value) for v in net.non_trainable_variables]
    with keras.StatelessScope(state_mapping=mapping):
        return net(inputs, training=training)


def _track(model, per_example: dict) -> dict:
    for name, tracker in model.trackers.items():
        tracker.update_state(per_example[name])
    return {name: tracker.result() for name, tracker in model.trackers.items()}


def _tf_step(model, loss_fn: Callable, data) -> dict:
    import tensorflow as tf

    with tf.GradientTape() as tape:
        objective, per_example = loss_fn(data)
        scaled = model.optimizer.scale_loss(objective)
    grads = tape.gradient(scaled, model.trainable_variables)
    model.optimizer.apply(grads, model.trainable_variables)
    return _track(model, per_example)


def _jax_step(model, loss_fn: Callable, state, data):
    import jax

    trainable, non_trainable, optimizer_values, metric_values = state
    optimizer_map = list(zip(model.optimizer.variables, optimizer_values))

    def objective_of(trainable_values, non_trainable_values):
        mapping = list(zip(model.trainable_variables, trainable_values))
        mapping += list(zip(model.non_trainable_variables, non_trainable_values)) + optimizer_map
        with keras.StatelessScope(state_mapping=mapping) as scope:
            objective, per_example = loss_fn(data)
            scaled = model.optimizer.scale_loss(objective)
        updated = [scope.get_current_value(v) for v in model.non_trainable_variables]
        return scaled, (per_example, updated)

    grad_fn = jax.value_and_grad(objective_of, has_aux=True)
    (_, (per_example, non_trainable)), grads = grad_fn(trainable, non_trainable)
    trainable, optimizer_values = model.optimizer.stateless_apply(optimizer_values, grads, trainable)
    with keras.StatelessScope(state_mapping=list(zip(model.metrics_variables, metric_values))) as scope:
        logs = _track(model, per_example)
    metric_values = [scope.get_current_value(v) for v in model.metrics_variables]
    return logs, (trainable, non_trainable, optimizer_values, metric_values)


def train_step(model, loss_fn: Callable, *args):
    """Run one step of ``model`` (``args`` = ``(data,)`` under TF, ``(state, data)`` under JAX).

    Args:
        model: a compiled ``keras.Model`` with one ``optimizer`` over all its trainable variables and a
            ``trackers`` dict of ``keras.metrics.Mean`` named like the per-example terms they report.
        loss_fn: ``loss_fn(data) -> (objective, per_example)`` written in ``keras.ops``.
    """
    if keras.backend.backend() == "jax":
        state, data = args
        return _jax_step(model, loss_fn, state, data)
    (data,) = args
    return _tf_step(model, loss_fn, data)
