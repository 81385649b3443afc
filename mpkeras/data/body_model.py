"""A generated articulated body in exactly SMPL's model-file format (the embedded default of ``smpl``).

The published SMPL model (Loper et al., SIGGRAPH Asia 2015) cannot ship here, so
tests and recipes use this deterministic stand-in with the same keys, shapes and
kinematic tree (24 joints, 10 shape directions, 23 x 9 = 207 pose-corrective
columns):

- ``v_template`` (V, 3): a T-posed body made of tubes (rings of ``sides``
  vertices) around the 23 bones of SMPL's tree plus 5 end segments (head top,
  hands, toes); y is up, +x is the body's left, metres.
- ``weights`` (V, 24): each tube is driven by the joint at its start; within a
  quarter of the tube's length of either end the weight blends linearly towards
  the neighbouring bone (0.5 / 0.5 at the joint). Rows sum to 1.
- ``shapedirs`` (V, 3, 10): height, girth, arm length, leg length, shoulder
  width, head size, then four smooth per-tube offsets.
- ``posedirs`` (V, 3, 207): small seeded correctives on the vertices that a joint
  bends (nonzero blend weight on it).
- ``J_regressor`` (24, V): for joint k, uniform weights over the end rings of the
  tubes that meet at k; the ring centroids are the joint, so J(template) is exact.
- ``kintree_table`` (2, 24): parents in row 0 (4294967295 for the root, as in
  SMPL's files), joint ids in row 1. ``f`` (F, 3): triangles of the tube sides.
"""

import numpy as np

# SMPL's joint order and kinematic tree.
JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle", "right_ankle",
    "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
ROOT_PARENT = 4294967295  # how SMPL's files store "no parent" (uint32 -1)

_LEFT_JOINTS = {  # rest positions of the left side and the midline (metres)
    0: (0.0, 0.95, 0.0), 1: (0.09, 0.87, 0.0), 3: (0.0, 1.05, 0.0), 4: (0.10, 0.50, 0.0), 6: (0.0, 1.18, 0.0),
    7: (0.10, 0.09, 0.0), 9: (0.0, 1.27, 0.0), 10: (0.11, 0.03, 0.10), 12: (0.0, 1.48, 0.0), 13: (0.08, 1.42, 0.0),
    15: (0.0, 1.60, 0.0), 16: (0.18, 1.42, 0.0), 18: (0.45, 1.42, 0.0), 20: (0.70, 1.42, 0.0), 22: (0.78, 1.42, 0.0),
}
_MIRROR = {2: 1, 5: 4, 8: 7, 11: 10, 14: 13, 17: 16, 19: 18, 21: 20, 23: 22}
_LEAF_TIPS = {15: (0.0, 0.18, 0.0), 22: (0.08, 0.0, 0.0), 23: (-0.08, 0.0, 0.0), 10: (0.0, 0.0, 0.06),
              11: (0.0, 0.0, 0.06)}  # end segments: offsets from the leaf joint
_ARMS = {13, 14, 16, 17, 18, 19, 20, 21, 22, 23}
_LEGS = {1, 2, 4, 5, 7, 8, 10, 11}


def rest_joints():
    """(24, 3) T-pose joint positions."""
    joints = np.zeros((24, 3))
    for k, p in _LEFT_JOINTS.items():
        joints[k] = p
    for k, m in _MIRROR.items():
        joints[k] = joints[m] * (-1.0, 1.0, 1.0)
    return joints


def _radius(driver):
    if driver in (0, 3, 6, 9):
        return 0.13
    if driver in (12, 15):
        return 0.09 if driver == 15 else 0.06
    if driver in (1, 2):
        return 0.08
    if driver in (4, 5):
        return 0.06
    if driver in (13, 14, 16, 17):
        return 0.055
    return 0.045


def _frame(direction):
    """Two unit vectors orthogonal to ``direction`` (and to each other)."""
    d = direction / np.linalg.norm(direction)
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    a = np.cross(d, helper)
    a /= np.linalg.norm(a)
    return a, np.cross(d, a)


def generate_body_model(seed=0, rings=4, sides=6, num_betas=10):
    """Builds the arrays of the generated body (see the module docstring) as a dict in SMPL's key format."""
    rng = np.random.default_rng(seed)
    joints = rest_joints()
    num_joints = len(PARENTS)
    # Segments: (start, end, driver joint, joint at the start to blend with, joint at the end to blend with).
    segments = [(joints[PARENTS[j]], joints[j], PARENTS[j], PARENTS[PARENTS[j]], j) for j in range(1, num_joints)]
    segments += [(joints[k], joints[k] + tip, k, PARENTS[k], -1) for k, tip in _LEAF_TIPS.items()]

    verts, faces, weights, axis_points, seg_of_vertex = [], [], [], [], []
    ring_members = {k: [] for k in range(num_joints)}
    angles = 2 * np.pi * np.arange(sides) / sides
    for s, (start, end, driver, before, after) in enumerate(segments):
        a, b = _frame(end - start)
        r = _radius(driver)
        for i, u in enumerate(np.linspace(0.0, 1.0, rings)):
            centre = start + u * (end - start)
            w = np.zeros(num_joints)
            blend_start = 0.5 * max(0.0, 1.0 - u / 0.25) if before >= 0 else 0.0
            blend_end = 0.5 * max(0.0, (u - 0.75) / 0.25) if after >= 0 else 0.0
            w[driver] = 1.0 - blend_start - blend_end
            if blend_start:
                w[before] += blend_start
            if blend_end:
                w[after] += blend_end
            base = len(verts)
            for t in angles:
                verts.append(centre + r * (np.cos(t) * a + np.sin(t) * b))
                weights.append(w)
                axis_points.append(centre)
                seg_of_vertex.append(s)
            ids = list(range(base, base + sides))
            if i == 0:
                ring_members[PARENTS[after] if after >= 0 else driver].extend(ids)
            if i == rings - 1 and after >= 0:
                ring_members[after].extend(ids)
            if i > 0:  # two triangles per quad between this ring and the previous one
                for q in range(sides):
                    p0, p1 = base - sides + q, base - sides + (q + 1) % sides
                    c0, c1 = base + q, base + (q + 1) % sides
                    faces += [(p0, p1, c1), (p0, c1, c0)]
    v = np.asarray(verts)
    num_verts = len(v)
    weights = np.asarray(weights)
    axis_points = np.asarray(axis_points)
    seg_of_vertex = np.asarray(seg_of_vertex)
    drivers = np.array([seg[2] for seg in segments])[seg_of_vertex]

    j_regressor = np.zeros((num_joints, num_verts))
    for k, ids in ring_members.items():
        j_regressor[k, ids] = 1.0 / len(ids)

    shapedirs = np.zeros((num_verts, 3, num_betas))
    shapedirs[:, :, 0] = 0.06 * v * (1.0, 1.0, 0.0)  # height and overall size, about the floor's centre
    shapedirs[:, :, 1] = 0.25 * (v - axis_points)  # girth
    arm = np.isin(drivers, list(_ARMS))
    shapedirs[arm, 0, 2] = 0.12 * np.sign(v[arm, 0]) * np.maximum(np.abs(v[arm, 0]) - 0.08, 0.0)  # arm length
    leg = np.isin(drivers, list(_LEGS))
    shapedirs[leg, 1, 3] = 0.1 * (v[leg, 1] - 0.87)  # leg length: the legs stretch down from the hips
    torso_or_arm = ~leg & (np.abs(v[:, 0]) > 0.05)
    shapedirs[torso_or_arm, 0, 4] = 0.05 * np.sign(v[torso_or_arm, 0])  # shoulder and chest width
    head = drivers == 15
    shapedirs[head, :, 5] = 0.3 * (v[head] - joints[15])  # head size
    for d in range(6, num_betas):  # smooth extras: one random offset per tube
        shapedirs[:, :, d] = 0.01 * rng.normal(size=(len(segments), 3))[seg_of_vertex]

    num_pose = 9 * (num_joints - 1)
    posedirs = np.zeros((num_verts, 3, num_pose))
    for k in range(1, num_joints):  # correctives on the vertices that joint k bends
        bent = weights[:, k] > 0
        posedirs[bent, :, 9 * (k - 1):9 * k] = 0.004 * rng.normal(size=(bent.sum(), 3, 9))

    kintree = np.stack([np.array(PARENTS, dtype=np.int64), np.arange(num_joints)])
    kintree[0, 0] = ROOT_PARENT
    return {
        "v_template": v.astype(np.float64),
        "shapedirs": shapedirs,
        "posedirs": posedirs,
        "J_regressor": j_regressor,
        "weights": weights,
        "kintree_table": kintree,
        "f": np.asarray(faces, dtype=np.int64),
    }


def write_body_model(path, seed=0):
    """Writes the generated body to ``path`` as an SMPL-format ``.npz``; returns ``path``."""
    np.savez(path, **generate_body_model(seed))
    return path
