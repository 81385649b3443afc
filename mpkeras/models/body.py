"""Body models: Rodrigues rotations, rigid transforms along a kinematic tree, linear blend skinning, SMPL.

The math (:func:`rodrigues`, :func:`rigid_transforms`, :func:`lbs`) is plain
functions; :class:`SMPL` (registered ``smpl``) composes it with the blend shapes
and fits bodies to joints, and :class:`LBS` (registered ``lbs``) learns skinning
weights. The same code loads MANO hand files: every size (vertices, joints,
shape directions, pose-corrective columns) is read from the key shapes.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from mpkeras.models.common import average_loss, check_input, split_dtype_policy, with_regularization
from mpkeras.registry import register_model

REQUIRED_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")


# --- Math ---------------------------------------------------------------------
def _skew(v):
    """(..., 3) -> (..., 3, 3) cross-product matrices [v]_x."""
    x, y, z = tf.unstack(v, axis=-1)
    zero = tf.zeros_like(x)
    return tf.reshape(tf.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1), tf.concat([tf.shape(v), [3]], 0))


def rodrigues(axis_angle):
    """Rotation matrices from axis-angle vectors r = theta * n (Rodrigues' formula).

    R = I + sin(theta) [n]_x + (1 - cos theta) [n]_x^2
      = I + (sin theta / theta) [r]_x + ((1 - cos theta) / theta^2) [r]_x^2,

    with the two ratios replaced by their Taylor series near theta = 0, so the
    value and the gradient are finite at the zero rotation.

    Args:
        axis_angle: (..., 3).

    Returns:
        (..., 3, 3) rotation matrices.
    """
    r = tf.convert_to_tensor(axis_angle)
    theta2 = tf.reduce_sum(tf.square(r), axis=-1)[..., None, None]  # (..., 1, 1)
    small = theta2 < 1e-6
    safe2 = tf.where(small, tf.ones_like(theta2), theta2)
    theta = tf.sqrt(safe2)
    a = tf.where(small, 1.0 - theta2 / 6.0, tf.sin(theta) / theta)
    b = tf.where(small, 0.5 - theta2 / 24.0, (1.0 - tf.cos(theta)) / safe2)
    k = _skew(r)  # (..., 3, 3)
    eye = tf.eye(3, dtype=r.dtype)
    return eye + a * k + b * tf.matmul(k, k)


def _homogeneous(rotation, translation):
    """(..., 3, 3), (..., 3) -> (..., 4, 4)."""
    top = tf.concat([rotation, translation[..., None]], axis=-1)  # (..., 3, 4)
    bottom = tf.broadcast_to(tf.constant([0.0, 0.0, 0.0, 1.0], rotation.dtype), tf.shape(top[..., :1, :]))
    return tf.concat([top, bottom], axis=-2)


def rigid_transforms(rotations, joints, parents):
    """Bone transforms G_k along a kinematic tree, as in SMPL.

    World transforms A_k = A_parent(k) [R_k | j_k - j_parent(k)] (A_root = [R_0 | j_0]),
    then the rest-joint offset is removed, G_k = A_k [I | -j_k], so that G_k maps
    a rest-pose point to its posed place under bone k alone.

    Args:
        rotations: (B, K, 3, 3) local joint rotations.
        joints: (B, K, 3) rest joint positions.
        parents: K ints, parent index of each joint (-1 for the root; parents precede children).

    Returns:
        (B, K, 4, 4) transforms G_k.
    """
    parents = [int(p) for p in parents]
    parent_ids = [max(p, 0) for p in parents]
    offsets = joints - tf.gather(joints, parent_ids, axis=1) * tf.constant(
        [[0.0] if p < 0 else [1.0] for p in parents], joints.dtype)  # (B, K, 3)
    local = tf.unstack(_homogeneous(rotations, offsets), axis=1)  # K x (B, 4, 4)
    world = []
    for k, p in enumerate(parents):
        world.append(local[k] if p < 0 else tf.matmul(world[p], local[k]))
    world = tf.stack(world, axis=1)  # (B, K, 4, 4)
    rot = world[..., :3, :3]
    translation = world[..., :3, 3] - tf.einsum("bkij,bkj->bki", rot, joints)
    return _homogeneous(rot, translation)


def lbs(vertices, weights, transforms):
    """Linear blend skinning t'_i = sum_k w_ki G_k t_i.

    Args:
        vertices: (B, V, 3) rest-pose vertices t_i.
        weights: (V, K) skinning weights (rows sum to 1).
        transforms: (B, K, 4, 4) bone transforms G_k (see :func:`rigid_transforms`).

    Returns:
        (B, V, 3) posed vertices.
    """
    blended = tf.einsum("vk,bkij->bvij", weights, transforms)  # (B, V, 4, 4)
    return tf.einsum("bvij,bvj->bvi", blended[..., :3, :3], vertices) + blended[..., :3, 3]


# --- Model files ----------------------------------------------------------------
def load_body_model(path, allow_pickle=False):
    """Loads an SMPL/MANO-format model file and checks its keys and shapes.

    Args:
        path: a ``.npz`` (default format) or, with ``allow_pickle=True``, a ``.pkl``
            as published (scipy-sparse ``J_regressor`` is densified). Never downloads.
        allow_pickle: opt in to unpickling; a pickle can run arbitrary code, so only
            load files you trust.

    Returns:
        dict of float64/int64 numpy arrays with the keys of :data:`REQUIRED_KEYS`.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Body model file {path!r} does not exist. mpkeras never downloads models: get the SMPL/MANO file from "
            "its publisher, or pass model_path=None to use the generated body (mpkeras.data.body_model)."
        )
    if path.endswith(".pkl"):
        if not allow_pickle:
            raise ValueError(
                f"{path!r} is a pickle, which can run arbitrary code when loaded. Convert it to .npz, or pass "
                "allow_pickle=True if you trust the file."
            )
        import pickle

        with open(path, "rb") as fh:
            raw = pickle.load(fh, encoding="latin1")  # SMPL's files were pickled by Python 2
    else:
        with np.load(path, allow_pickle=allow_pickle) as npz:
            raw = {k: npz[k] for k in npz.files}
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise KeyError(f"Body model file {path!r} lacks the key(s) {missing}; an SMPL/MANO-format file has "
                       f"{list(REQUIRED_KEYS)}. Check that it is such a file (e.g. not an SMPL-X or a texture file).")
    arrays = {}
    for k in REQUIRED_KEYS:
        value = raw[k]
        value = value.toarray() if hasattr(value, "toarray") else np.asarray(value)  # scipy sparse, chumpy
        arrays[k] = value.astype(np.int64 if k in ("kintree_table", "f") else np.float64)
    check_body_arrays(arrays, path)
    return arrays


def check_body_arrays(arrays, source="body model"):
    """Raises ``ValueError`` naming the key, its shape and the expected shape when the arrays do not fit together."""
    kin = arrays["kintree_table"]
    if kin.ndim != 2 or kin.shape[0] != 2:
        raise ValueError(f"{source}: key 'kintree_table' has shape {kin.shape}, expected (2, K) for K joints "
                         "(row 0 parents, row 1 joint ids).")
    num_joints = kin.shape[1]
    v = arrays["v_template"]
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"{source}: key 'v_template' has shape {v.shape}, expected (V, 3).")
    num_verts = v.shape[0]
    expected = {
        "shapedirs": (num_verts, 3, None),
        "posedirs": (num_verts, 3, 9 * (num_joints - 1)),
        "J_regressor": (num_joints, num_verts),
        "weights": (num_verts, num_joints),
        "f": (None, 3),
    }
    for key, shape in expected.items():
        got = arrays[key].shape
        if len(got) != len(shape) or any(e is not None and e != g for e, g in zip(shape, got)):
            want = tuple("any" if e is None else e for e in shape)
            raise ValueError(
                f"{source}: key {key!r} has shape {got}, expected {want} for V={num_verts} vertices and K={num_joints} "
                "joints (read from v_template and kintree_table). The file is malformed or mixes two models."
            )
    parents = parents_from_kintree(kin)
    if any(p >= k for k, p in enumerate(parents) if p >= 0) or parents[0] != -1:
        raise ValueError(f"{source}: kintree_table row 0 must list each joint's parent before the joint itself, "
                         f"with the root first; got {parents}.")


def parents_from_kintree(kintree_table):
    """Row 0 of ``kintree_table`` as Python ints, the root's 4294967295 (uint32 -1) mapped to -1."""
    return tuple(-1 if p in (-1, 4294967295) else int(p) for p in np.asarray(kintree_table)[0])


def body_arrays(model_path=None, allow_pickle=False):
    """The checked arrays of an SMPL/MANO-format file, or of the generated body when ``model_path`` is None."""
    if model_path is not None:
        return load_body_model(model_path, allow_pickle)
    from mpkeras.data.body_model import generate_body_model

    arrays = generate_body_model()
    check_body_arrays(arrays, "generated body")
    return arrays


# --- The SMPL model -------------------------------------------------------------
@register_model("smpl", dataset="generated_body", metric="learned_gd_joint_error_mm")
@keras.saving.register_keras_serializable(package="mpkeras")
class SMPL(keras.Model):
    """SMPL-format body (or MANO hand) model with gradient-descent and learned-gradient-descent fitting.

    Forward model (Loper et al. 2015, eqs. 1-10):

        t'_i = sum_k w_ki G_k(theta, J(beta)) (t_i + s_i(beta) + p_i(theta)),
        s(beta) = S beta,  p(theta) = P vec(R_k(theta) - I)_{k >= 1},  J(beta) = J_reg (T + S beta),

    with G_k from :func:`rigid_transforms` and R_k = :func:`rodrigues`(theta_k).

    Fitting to target joints x (K, 3) minimizes L(Theta) = mean_k ||J_k(Theta) - x_k||^2 over
    Theta = (beta, theta), starting at Theta = 0, for ``fit_steps`` steps:

    - plain GD: Theta <- Theta - eta dL/dTheta;
    - learned GD (Andrychowicz et al. 2016; Song et al. 2020 for bodies):
      Theta <- Theta + F(dL/dTheta, Theta, x, t / N), where F(.) = -eta dL/dTheta + MLP(...), so an
      untrained F is plain GD. F is this model's only trainable part: ``call(x)`` runs the learned
      fit and the loss is the mean of L over the fitting trajectory (second derivatives are dropped,
      dL/dTheta enters F as an input with a stopped gradient).

    The body arrays are non-trainable weights, so a saved model carries them.

    Args:
        model_path: an SMPL/MANO-format ``.npz`` (or ``.pkl`` with ``allow_pickle``); None uses the
            generated body of :mod:`mpkeras.data.body_model`. Never downloads.
        allow_pickle: opt in to unpickling ``.pkl`` files.
        num_betas: shape coefficients used (at most the file's shapedirs columns; None: all).
        fit_steps: N, steps of both fitting methods.
        fit_learning_rate: eta of plain GD (and the base step of F).
        hidden_units: widths of F's MLP.

    Example:
        >>> body = SMPL()                                    # generated 24-joint body
        >>> out = body.forward(tf.zeros([1, 10]), tf.zeros([1, 72]))   # vertices (1, V, 3), joints (1, 24, 3)
        >>> fit = body.fit_joints(out["joints"])             # plain GD: betas, pose, joints, error
        >>> hand = SMPL("MANO_RIGHT.npz", num_betas=10)     # a MANO-format file: 16 joints

    Reference:
        Loper, Mahmood, Romero, Pons-Moll, Black, "SMPL: A Skinned Multi-Person Linear Model",
        SIGGRAPH Asia 2015. Andrychowicz et al., "Learning to learn by gradient descent by gradient
        descent", NeurIPS 2016. Song, Chen, Hilliges, "Human Body Model Fitting by Learned Gradient
        Descent", ECCV 2020.
    """

    def __init__(self, model_path=None, allow_pickle=False, num_betas=10, fit_steps=20, fit_learning_rate=1.0,
                 hidden_units=(128, 128), **kwargs):
        # The kinematic chain and the fitting loop in float32; the learned update's MLP in the policy.
        self.network_dtype_policy = split_dtype_policy(kwargs)
        super().__init__(**kwargs)
        arrays = body_arrays(model_path, allow_pickle)
        # === Config ===
        self.model_path = model_path
        self.allow_pickle = allow_pickle
        self.num_betas = num_betas
        self.fit_steps = fit_steps
        self.fit_learning_rate = fit_learning_rate
        self.hidden_units = tuple(hidden_units)
        self.parents = parents_from_kintree(arrays["kintree_table"])
        self.num_joints = len(self.parents)
        self.num_vertices = arrays["v_template"].shape[0]
        available = arrays["shapedirs"].shape[-1]
        self.betas_dim = available if num_betas is None else min(num_betas, available)
        self.pose_dim = 3 * self.num_joints
        self.faces = arrays["f"]
        # === Layers ===
        def constant(name, value):
            value = np.asarray(value, np.float32)
            return self.add_weight(shape=value.shape, initializer=keras.initializers.Constant(value), trainable=False,
                                   name=name)

        self.v_template = constant("v_template", arrays["v_template"])  # (V, 3)
        self.shapedirs = constant("shapedirs", arrays["shapedirs"][..., :self.betas_dim])  # (V, 3, nb)
        self.posedirs = constant("posedirs", arrays["posedirs"])  # (V, 3, 9 (K-1))
        self.j_regressor = constant("J_regressor", arrays["J_regressor"])  # (K, V)
        self.skinning_weights = constant("weights", arrays["weights"])  # (V, K)
        self.update_net = self.build_update_net()

    def build_update_net(self):
        """F's MLP: [eta dL/dTheta, Theta, x, t/N] -> correction to the GD step, both (B, P)."""
        theta_dim = self.betas_dim + self.pose_dim
        layers = [keras.layers.Dense(u, activation="tanh", dtype=self.network_dtype_policy) for u in self.hidden_units]
        layers.append(keras.layers.Dense(theta_dim, kernel_initializer=keras.initializers.VarianceScaling(1e-4),
                                         dtype=self.network_dtype_policy))
        net = keras.Sequential(layers, name="update_net")
        net.build((None, 2 * theta_dim + self.pose_dim + 1))
        return net

    # --- Forward model -------------------------------------------------------
    def rest_joints(self, betas):
        """J(beta) = J_reg (T + S beta): (B, nb) -> (B, K, 3), without forming the vertices."""
        j_template = tf.matmul(self.j_regressor, self.v_template)  # (K, 3)
        j_dirs = tf.einsum("kv,vcb->kcb", self.j_regressor, self.shapedirs)  # (K, 3, nb)
        return j_template + tf.einsum("kcb,nb->nkc", j_dirs, betas)

    def _transforms(self, betas, pose):
        rotations = rodrigues(tf.reshape(pose, [-1, self.num_joints, 3]))  # (B, K, 3, 3)
        rest = self.rest_joints(betas)  # (B, K, 3)
        transforms = rigid_transforms(rotations, rest, self.parents)  # (B, K, 4, 4)
        joints = tf.einsum("bkij,bkj->bki", transforms[..., :3, :3], rest) + transforms[..., :3, 3]  # (B, K, 3)
        return rotations, transforms, joints

    def posed_joints(self, betas, pose):
        """(B, nb), (B, 3K) -> posed joints (B, K, 3) (the translations of the world transforms A_k)."""
        return self._transforms(betas, pose)[2]

    def forward(self, betas, pose):
        """SMPL's forward pass.

        Args:
            betas: (B, nb) shape coefficients.
            pose: (B, 3K) axis-angle rotation of each joint relative to its parent (joint 0: global).

        Returns:
            {"vertices": (B, V, 3), "joints": (B, K, 3)}.
        """
        betas = check_input(betas, (self.betas_dim,), "betas")
        pose = check_input(pose, (self.pose_dim,), "pose")
        rotations, transforms, joints = self._transforms(betas, pose)
        v_shaped = self.v_template + tf.einsum("vcb,nb->nvc", self.shapedirs, betas)  # (B, V, 3)
        eye = tf.eye(3, dtype=rotations.dtype)
        pose_feature = tf.reshape(rotations[:, 1:] - eye, [-1, 9 * (self.num_joints - 1)])  # (B, 9 (K-1))
        v_posed = v_shaped + tf.einsum("vcp,np->nvc", self.posedirs, pose_feature)  # (B, V, 3)
        return {"vertices": lbs(v_posed, self.skinning_weights, transforms), "joints": joints}

    # --- Fitting ---------------------------------------------------------------
    def _split(self, theta):
        betas, pose = tf.split(theta, [self.betas_dim, self.pose_dim], axis=-1)
        return betas, pose

    def _objective(self, theta, target):
        """Per-example L(Theta) = mean_k ||J_k - x_k||^2 (B,), and the joints (B, K, 3)."""
        joints = self.posed_joints(*self._split(theta))
        return tf.reduce_mean(tf.reduce_sum(tf.square(joints - target), -1), -1), joints

    def _gradient(self, theta, target):
        with tf.GradientTape() as tape:
            tape.watch(theta)
            loss, _ = self._objective(theta, target)
            total = tf.reduce_sum(loss)
        return tf.stop_gradient(tape.gradient(total, theta)), loss  # (B, P), (B,)

    def _run_fit(self, target, learned, num_steps=None):
        """Runs N steps in a tf.while_loop; returns (Theta (B, P), mean of L over the N steps (B,)).

        ``num_steps`` < N stops early on the same trajectory (F sees t / N with N = ``fit_steps``).
        """
        target = tf.cast(target, tf.float32)
        batch = tf.shape(target)[0]
        theta0 = tf.zeros([batch, self.betas_dim + self.pose_dim])
        flat_target = tf.reshape(target, [batch, self.pose_dim])
        steps = self.fit_steps if num_steps is None else num_steps

        def body(t, theta, total):
            grad, loss = self._gradient(theta, target)
            step = -self.fit_learning_rate * grad
            if learned:
                frac = tf.fill([batch, 1], tf.cast(t, tf.float32) / self.fit_steps)
                step = step + tf.cast(self.update_net(tf.concat([-step, theta, flat_target, frac], axis=-1)), tf.float32)
            return t + 1, theta + step, total + loss

        _, theta, total = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), theta0, tf.zeros([batch])),
                                        maximum_iterations=steps)
        return theta, total / max(steps, 1)

    def _fit_outputs(self, theta, target):
        betas, pose = self._split(theta)
        joints = self.posed_joints(betas, pose)
        error = tf.reduce_mean(tf.norm(joints - target, axis=-1), axis=-1)  # mean per-joint error (m), (B,)
        return {"betas": betas, "pose": pose, "joints": joints, "error": error}

    def fit_joints(self, target_joints, learned=False, num_steps=None):
        """Fits (betas, pose) to target joints (B, K, 3) with ``fit_steps`` (or ``num_steps``) of plain (or learned) GD.

        Returns:
            {"betas": (B, nb), "pose": (B, 3K), "joints": (B, K, 3), "error": (B,) mean per-joint error in metres}.
        """
        target = check_input(target_joints, (self.num_joints, 3), "target_joints")
        theta, _ = self._run_fit(target, learned, num_steps)
        return self._fit_outputs(theta, target)

    def call(self, target_joints, training=False):
        """Learned-GD fit of target joints (B, K, 3): the outputs of :meth:`fit_joints` plus "trajectory_loss" (B,)."""
        target = tf.cast(target_joints, tf.float32)
        theta, trajectory_loss = self._run_fit(target, learned=True)
        return {**self._fit_outputs(theta, target), "trajectory_loss": trajectory_loss}

    def compute_output_spec(self, target_joints, training=False):
        batch = target_joints.shape[0]
        spec = lambda *s: keras.KerasTensor((batch, *s), dtype="float32")  # noqa: E731
        return {"betas": spec(self.betas_dim), "pose": spec(self.pose_dim), "joints": spec(self.num_joints, 3),
                "error": spec(), "trajectory_loss": spec()}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return with_regularization(average_loss(y_pred["trajectory_loss"]), self.losses)

    def serving_endpoints(self):
        betas = tf.TensorSpec((None, self.betas_dim), tf.float32, name="betas")
        pose = tf.TensorSpec((None, self.pose_dim), tf.float32, name="pose")
        target = tf.TensorSpec((None, self.num_joints, 3), tf.float32, name="target_joints")
        return {
            "forward": (self.forward, [betas, pose]),
            "fit": (lambda x: self.fit_joints(x, learned=False), [target]),
            "fit_learned": (lambda x: self.fit_joints(x, learned=True), [target]),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "model_path": self.model_path,
            "allow_pickle": self.allow_pickle,
            "num_betas": self.num_betas,
            "fit_steps": self.fit_steps,
            "fit_learning_rate": self.fit_learning_rate,
            "hidden_units": self.hidden_units,
        }


def sample_bodies(model, num, seed=0, pose_std=0.3, root_std=0.2, betas_std=1.0):
    """Random bodies of ``model``: betas ~ N(0, betas_std^2), pose ~ N(0, pose_std^2) (root: root_std).

    Returns:
        numpy {"betas": (num, nb), "pose": (num, 3K), "joints": (num, K, 3)}.
    """
    rng = np.random.default_rng(seed)
    betas = (betas_std * rng.normal(size=(num, model.betas_dim))).astype(np.float32)
    scale = np.full((model.num_joints, 3), pose_std)
    scale[0] = root_std
    pose = (rng.normal(size=(num, model.num_joints, 3)) * scale).reshape(num, -1).astype(np.float32)
    joints = model.posed_joints(tf.constant(betas), tf.constant(pose)).numpy()
    return {"betas": betas, "pose": pose, "joints": joints}


@register_model("lbs", dataset="generated_body", metric="test_vertex_error_mm")
@keras.saving.register_keras_serializable(package="mpkeras")
class LBS(keras.Model):
    """Linear blend skinning with learned skinning weights, fitted to posed examples of a body.

    t'_i = sum_k w_ki G_k(theta, J) t_i,  w_i = softmax(a_i)  (so w_ki >= 0 and sum_k w_ki = 1),

    where t_i and J = J_reg T are the rest vertices and joints of an SMPL/MANO-format file, G_k are the
    bone transforms of :func:`rigid_transforms` and the logits a (V, K) are the only trainable weights.
    Starting from uniform weights, it learns them from (pose, posed vertices) pairs by minimizing the
    mean squared vertex error: the skinning-weight estimation step of SMPL's training, on its own.

    Args:
        model_path: an SMPL/MANO-format ``.npz`` (or ``.pkl`` with ``allow_pickle``) for the rest mesh and
            kinematic tree; None uses the generated body. Its own skinning weights are not used.
        allow_pickle: opt in to unpickling ``.pkl`` files.

    Example:
        >>> model = LBS()
        >>> model.compile("adam")
        >>> model.fit(poses, posed_vertices)      # (N, 72), (N, V, 3)
        >>> model.skin(poses)["vertices"]          # (N, V, 3)

    Reference:
        Magnenat-Thalmann, Laperriere, Thalmann, "Joint-dependent local deformations for hand animation
        and object grasping", Graphics Interface 1988; Loper et al., "SMPL: A Skinned Multi-Person Linear
        Model", SIGGRAPH Asia 2015 (section 4, learning the blend weights).
    """

    def __init__(self, model_path=None, allow_pickle=False, **kwargs):
        split_dtype_policy(kwargs)  # skinning is all geometry: float32 (no network to run in float16)
        super().__init__(**kwargs)
        arrays = body_arrays(model_path, allow_pickle)
        # === Config ===
        self.model_path = model_path
        self.allow_pickle = allow_pickle
        self.parents = parents_from_kintree(arrays["kintree_table"])
        self.num_joints = len(self.parents)
        self.num_vertices = arrays["v_template"].shape[0]
        self.pose_dim = 3 * self.num_joints
        # === Layers ===
        template = np.asarray(arrays["v_template"], np.float32)
        self.v_template = self.add_weight(shape=template.shape, initializer=keras.initializers.Constant(template),
                                          trainable=False, name="v_template")  # (V, 3)
        rest = (arrays["J_regressor"] @ arrays["v_template"]).astype(np.float32)
        self.rest_joints = self.add_weight(shape=rest.shape, initializer=keras.initializers.Constant(rest),
                                           trainable=False, name="rest_joints")  # (K, 3)
        self.weight_logits = self.add_weight(shape=(self.num_vertices, self.num_joints), initializer="zeros",
                                             name="weight_logits")  # (V, K)

    def skinning_weights(self):
        """(V, K) weights, rows summing to 1."""
        return tf.nn.softmax(self.weight_logits, axis=-1)

    def skin(self, pose):
        """Poses the rest mesh: pose (B, 3K) axis-angle -> {"vertices": (B, V, 3), "joints": (B, K, 3)}."""
        pose = check_input(pose, (self.pose_dim,), "pose")
        batch = tf.shape(pose)[0]
        rest = tf.broadcast_to(self.rest_joints, [batch, self.num_joints, 3])  # (B, K, 3)
        transforms = rigid_transforms(rodrigues(tf.reshape(pose, [-1, self.num_joints, 3])), rest, self.parents)
        vertices = lbs(tf.broadcast_to(self.v_template, [batch, self.num_vertices, 3]), self.skinning_weights(),
                       transforms)
        joints = tf.einsum("bkij,bkj->bki", transforms[..., :3, :3], rest) + transforms[..., :3, 3]
        return {"vertices": vertices, "joints": joints}

    def call(self, pose, training=False):
        return self.skin(tf.cast(pose, tf.float32))["vertices"]  # (B, V, 3)

    def compute_output_spec(self, pose, training=False):
        return keras.KerasTensor((pose.shape[0], self.num_vertices, 3), dtype="float32")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Mean over vertices of the squared distance to the target posed vertices y (B, V, 3)."""
        squared = tf.reduce_sum(tf.square(tf.cast(y_pred, tf.float32) - tf.cast(y, tf.float32)), -1)  # (B, V)
        return with_regularization(average_loss(squared), self.losses)

    def serving_endpoints(self):
        pose = tf.TensorSpec((None, self.pose_dim), tf.float32, name="pose")
        return {"skin": (self.skin, [pose])}

    def get_config(self):
        return {**super().get_config(), "model_path": self.model_path, "allow_pickle": self.allow_pickle}
