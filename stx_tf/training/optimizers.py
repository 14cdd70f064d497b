"""Adam with TensorFlow's fused update kernel.

Keras' Adam updates each variable with about ten separate element-wise operations, each a full pass
over memory; for the two 54 M-parameter U-Nets of a CycleGAN that is several GB of memory traffic per
step on a CPU. ``ResourceApplyAdam`` does the same update (Kingma & Ba 2014,
https://arxiv.org/abs/1412.6980, with Keras' bias correction and epsilon placement:
``var -= lr·√(1-β2ᵗ)/(1-β1ᵗ) · m / (√v + ε)``) in one pass. Same maths, same slots, same checkpoints:
a drop-in ``keras.optimizers.Adam``.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _handle(variable):
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


@keras.saving.register_keras_serializable(package="stx_tf")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose dense, non-AMSGrad updates run as one fused TensorFlow kernel."""

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices) or keras.backend.backend() != "tensorflow":
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable),
            m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]),
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )
