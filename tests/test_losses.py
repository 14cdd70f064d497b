"""stx_tf.losses against NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from stx_tf import losses

RNG = np.random.default_rng(0)


def _feat(b=2, h=5, w=6, c=4, seed=0):
    return np.random.default_rng(seed).normal(size=(b, h, w, c)).astype(np.float32)


def _np_gram(f):
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c)
    return np.einsum("bmc,bmd->bcd", flat, flat)


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def test_gram_normalisations():
    f = _feat()
    raw = _np_gram(f)
    _close(losses.gram_matrix(f, "none"), raw, 1e-4)
    _close(losses.gram_matrix(f, "hw"), raw / 30)
    _close(losses.gram_matrix(f, "paper"), raw / (2 * 4 * 30))
    with pytest.raises(ValueError, match="normalize"):
        losses.gram_matrix(f, "bogus")


def test_style_loss_paper_form_equals_gatys_el():
    f, s = _feat(seed=1), _feat(b=1, seed=2)
    n, m = 4, 30
    expected = np.sum((_np_gram(f) - _np_gram(s)) ** 2, axis=(1, 2)) / (4 * n**2 * m**2)
    target = losses.gram_matrix(s, "paper")
    _close(losses.style_loss_per_example(f, target, normalize="paper"), expected)


def test_style_loss_weighted_layers_dict():
    f1, f2 = _feat(seed=3), _feat(h=3, w=3, c=2, seed=4)
    s1, s2 = _feat(b=1, seed=5), _feat(b=1, h=3, w=3, c=2, seed=6)
    feats = {"a": f1, "b": f2}
    targets = {"a": losses.gram_matrix(s1), "b": losses.gram_matrix(s2)}
    per = losses.style_loss_per_example(feats, targets, layer_weights={"a": 0.25, "b": 2.0})
    ref_a = np.mean((_np_gram(f1) / 30 - _np_gram(s1) / 30) ** 2, axis=(1, 2))
    ref_b = np.mean((_np_gram(f2) / 9 - _np_gram(s2) / 9) ** 2, axis=(1, 2))
    _close(per, 0.25 * ref_a + 2.0 * ref_b)
    assert np.asarray(per).shape == (2,)
    _close(losses.style_loss(feats, targets, {"a": 0.25, "b": 2.0}), np.mean(0.25 * ref_a + 2.0 * ref_b))
    with pytest.raises(ValueError, match="no target"):
        losses.style_loss(feats, {"a": targets["a"]})


def test_content_loss_sequences_and_weights():
    f, p = [_feat(seed=7), _feat(seed=8)], [_feat(b=1, seed=9), _feat(b=1, seed=10)]
    per = losses.content_loss_per_example(f, p, layer_weights=[1.0, 3.0])
    ref = np.mean((f[0] - p[0]) ** 2, axis=(1, 2, 3)) + 3 * np.mean((f[1] - p[1]) ** 2, axis=(1, 2, 3))
    _close(per, ref)
    _close(losses.content_loss(f[0], p[0]), np.mean((f[0] - p[0]) ** 2))
    paper = losses.content_loss_per_example(f[0], p[0], normalize="paper")
    _close(paper, 0.5 * np.sum((f[0] - p[0]) ** 2, axis=(1, 2, 3)), 1e-4)
    with pytest.raises(ValueError, match="targets"):
        losses.content_loss(f, p[:1])


@pytest.mark.parametrize("squared,mean", [(False, False), (True, False), (False, True)])
def test_total_variation(squared, mean):
    x = _feat(c=3, seed=11)
    dy, dx = x[:, 1:] - x[:, :-1], x[:, :, 1:] - x[:, :, :-1]
    f = np.square if squared else np.abs
    red = np.mean if mean else np.sum
    ref = red(f(dy), axis=(1, 2, 3)) + red(f(dx), axis=(1, 2, 3))
    _close(losses.total_variation_per_example(x, squared, mean), ref, 1e-4)
    if not squared and not mean:
        import tensorflow as tf

        _close(losses.total_variation_per_example(x), tf.image.total_variation(tf.constant(x)), 1e-4)


def test_total_loss():
    assert (
        float(losses.total_loss(2.0, 3.0, 5.0, 7.0, content_weight=0.5, style_weight=2, tv_weight=0.1)) == 7.5
    )
    assert float(losses.total_loss(2.0, 3.0, 5.0, 7.0, adversarial_weight=1.0, content_weight=1e-2)) == 10.02


def _np_bce(logits, target):
    p = 1 / (1 + np.exp(-logits))
    return -(target * np.log(p) + (1 - target) * np.log(1 - p))


def test_gan_losses_match_numpy():
    real = RNG.normal(size=(3, 4, 4, 1)).astype(np.float32)
    fake = RNG.normal(size=(3, 4, 4, 1)).astype(np.float32)
    axes = (1, 2, 3)
    _close(losses.lsgan_generator_loss_per_example(fake), np.mean((fake - 1) ** 2, axis=axes))
    _close(
        losses.lsgan_discriminator_loss_per_example(real, fake, label_smoothing=0.1),
        0.5 * (np.mean((real - 0.9) ** 2, axis=axes) + np.mean(fake**2, axis=axes)),
    )
    _close(losses.bce_generator_loss_per_example(fake), np.mean(_np_bce(fake, 1.0), axis=axes))
    _close(
        losses.bce_discriminator_loss(real, fake, label_smoothing=0.2),
        np.mean(0.5 * (np.mean(_np_bce(real, 0.8), axis=axes) + np.mean(_np_bce(fake, 0.0), axis=axes))),
    )
    import keras

    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    both = np.concatenate([real, fake])
    labels = np.concatenate([np.ones_like(real), np.zeros_like(fake)])
    _close(losses.bce_discriminator_loss(real, fake), bce(labels, both), 1e-5)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.lsgan_discriminator_loss(real, fake, label_smoothing=1.0)


def test_bce_is_stable_for_large_logits():
    big = np.array([[1e4], [-1e4]], np.float32)
    out = np.asarray(losses.bce_generator_loss_per_example(big))
    assert np.all(np.isfinite(out))
    _close(out, [0.0, 1e4], 1e-3)


def test_cycle_identity_and_global_batch_reduction():
    a, b = _feat(b=4, seed=12), _feat(b=4, seed=13)
    per = losses.cycle_loss_per_example(a, b)
    _close(per, np.mean(np.abs(a - b), axis=(1, 2, 3)))
    _close(losses.identity_loss(a, b), np.mean(np.abs(a - b)))
    # two replicas each holding half of a global batch of 4: sum of replica losses == global mean
    r1 = losses.reduce_loss(per[:2], global_batch_size=4)
    r2 = losses.reduce_loss(per[2:], global_batch_size=4)
    _close(float(r1) + float(r2), float(losses.cycle_loss(a, b)))


# ------------------------------------------------------------------------------------------ PatchNCE
def _np_patch_nce(q, k, tau):
    """The paper's PatchNCE, patch by patch: softmax over [positive, negatives of the same image]."""
    out = np.zeros(q.shape[0])
    for b in range(q.shape[0]):
        losses_b = []
        for p in range(q.shape[1]):
            negatives = [q[b, p] @ k[b, n] for n in range(q.shape[1]) if n != p]
            logits = np.array([q[b, p] @ k[b, p], *negatives], np.float64) / tau
            losses_b.append(np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[0])
        out[b] = np.mean(losses_b)
    return out


def _unit(x):
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-7)


def test_patch_nce_matches_numpy_reference():
    rng = np.random.default_rng(1)
    q, k = (_unit(rng.normal(size=(3, 5, 4))).astype(np.float32) for _ in range(2))
    for tau in (0.07, 0.5):
        _close(losses.patch_nce_loss_per_example(q, k, tau), _np_patch_nce(q, k, tau), 1e-4)
    _close(losses.l2_normalize(q * 3.0), q, 1e-5)
    # Negatives come from the same image only: changing image 1 leaves image 0's loss alone.
    k2 = k.copy()
    k2[1] = _unit(rng.normal(size=(5, 4)))
    per, per2 = (np.asarray(losses.patch_nce_loss_per_example(q, kk)) for kk in (k, k2))
    assert per[0] == pytest.approx(per2[0]) and per[1] != pytest.approx(per2[1])


def test_patch_nce_rewards_matching_patches_and_leaves_keys_constant():
    import tensorflow as tf

    rng = np.random.default_rng(2)
    k = _unit(rng.normal(size=(2, 16, 8))).astype(np.float32)
    matched = float(np.mean(losses.patch_nce_loss_per_example(k, k)))
    shuffled = float(np.mean(losses.patch_nce_loss_per_example(k[:, ::-1], k)))
    assert matched < 0.5 < np.log(16) < shuffled  # log(P) is a uniform guess
    q, kv = tf.Variable(k[:, ::-1]), tf.Variable(k)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(losses.patch_nce_loss_per_example(q, kv))
    grad_q, grad_k = tape.gradient(loss, [q, kv])
    assert np.abs(grad_q.numpy()).max() > 0 and grad_k is None
    with pytest.raises(ValueError, match="temperature"):
        losses.patch_nce_loss_per_example(k, k, 0.0)
    with pytest.raises(ValueError, match="B, P, D"):
        losses.patch_nce_loss_per_example(k, k[:, :8])
