"""Posed views of an analytic coloured scene, rendered by our own sphere tracer (embedded TFDS builder ``scenes``).

The scene ``primitives`` is a red sphere, a green box and a blue torus, all inside the ball of radius
:data:`SCENE_RADIUS` around the origin, on a white background (:data:`BACKGROUND`). Shading is Lambertian
under one fixed directional light plus ambient light, with no shadows, so a surface point has the same
colour from every view:

    c(p) = albedo(p) * (AMBIENT + (1 - AMBIENT) * max(0, n(p) . l)).

Cameras follow the NeRF/OpenGL convention: ``camera_to_world`` is a 4x4 matrix whose columns are the
camera's x (right), y (up) and z (backwards) axes and its centre; the camera looks along -z. The ray of
pixel (row i, column j) leaves the centre in the camera-frame direction ((j + 0.5 - W/2) / f,
-(i + 0.5 - H/2) / f, -1), normalised to unit length, so a ray's parameter t is Euclidean distance.
Every ray that can hit the scene does so for t in [:data:`NEAR`, :data:`FAR`].

Views: train cameras on a Fibonacci spiral over elevations -15..75 degrees, test cameras at seeded
random positions in the same band (held-out views), all at distance :data:`CAMERA_DISTANCE` looking at
the origin. Rays hit the pixel centre exactly once (no supersampling), so a renderer that casts the same
rays can reproduce the images exactly.

Example:
    >>> from mpkeras import data
    >>> view = next(iter(data.load("scenes", "test", as_supervised=False)))
    >>> view["image"].shape, view["camera_to_world"].shape
    (TensorShape([64, 64, 3]), TensorShape([4, 4]))
    >>> origins, directions = camera_rays(view["camera_to_world"].numpy(), 64, 64, float(view["focal"]))
"""

import numpy as np
import tensorflow_datasets as tfds

from mpkeras.data.embedded import _EmbeddedBuilder

SIZE = 64
"""Height and width of every view, in pixels."""
FIELD_OF_VIEW = 40.0
"""Horizontal field of view, in degrees."""
FOCAL = 0.5 * SIZE / np.tan(np.radians(0.5 * FIELD_OF_VIEW))
CAMERA_DISTANCE = 2.5
SCENE_RADIUS = 0.8
NEAR, FAR = CAMERA_DISTANCE - SCENE_RADIUS - 0.1, CAMERA_DISTANCE + SCENE_RADIUS + 0.1
BACKGROUND = 1.0
"""Grey level of the background (white)."""
AMBIENT = 0.35
LIGHT = np.array([0.4, -0.3, 0.85]) / np.linalg.norm([0.4, -0.3, 0.85])
NUM_VIEWS = {"train": 100, "test": 10}

# name: (albedo, SDF parameters); the SDFs are below.
_OBJECTS = {
    "sphere": ((0.85, 0.2, 0.15), dict(centre=(-0.3, 0.15, 0.05), radius=0.3)),
    "box": ((0.2, 0.7, 0.3), dict(centre=(0.3, 0.2, -0.05), half=(0.2, 0.2, 0.25))),
    "torus": ((0.2, 0.35, 0.85), dict(centre=(0.0, -0.3, -0.2), major=0.32, minor=0.1)),
}


def _sphere(p, centre, radius):
    return np.linalg.norm(p - centre, axis=-1) - radius


def _box(p, centre, half):
    q = np.abs(p - centre) - half
    return np.linalg.norm(np.maximum(q, 0), axis=-1) + np.minimum(q.max(-1), 0)


def _torus(p, centre, major, minor):  # in the xy-plane
    q = p - centre
    ring = np.linalg.norm(q[..., :2], axis=-1) - major
    return np.sqrt(ring**2 + q[..., 2]**2) - minor


def object_distances(points):
    """The SDF of each object at ``points`` (..., 3): (..., 3) in the order sphere, box, torus."""
    points = np.asarray(points, np.float64)
    fns = {"sphere": _sphere, "box": _box, "torus": _torus}
    return np.stack([fns[name](points, **params) for name, (_, params) in _OBJECTS.items()], -1)


def sdf(points):
    """The scene's signed distance at ``points`` (..., 3): the union (minimum) of the objects' SDFs."""
    return object_distances(points).min(-1)


def albedo(points):
    """The colour (..., 3) in [0, 1] of the object nearest to each point."""
    colours = np.array([colour for colour, _ in _OBJECTS.values()])
    return colours[object_distances(points).argmin(-1)]


def normals(points, eps=1e-4):
    """Unit outward normals (..., 3): the normalised central-difference gradient of :func:`sdf`."""
    offsets = eps * np.eye(3)
    grad = np.stack([sdf(points + o) - sdf(points - o) for o in offsets], -1)
    return grad / np.maximum(np.linalg.norm(grad, axis=-1, keepdims=True), 1e-12)


def look_at(position, target=(0.0, 0.0, 0.0), up=(0.0, 0.0, 1.0)):
    """The 4x4 camera-to-world matrix of a camera at ``position`` looking at ``target`` (z-up world)."""
    position = np.asarray(position, np.float64)
    back = position - target
    back /= np.linalg.norm(back)
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    matrix = np.eye(4)
    matrix[:3, :3] = np.stack([right, np.cross(back, right), back], -1)
    matrix[:3, 3] = position
    return matrix


def camera_rays(camera_to_world, height=SIZE, width=SIZE, focal=FOCAL):
    """Origins and unit directions of every pixel's ray: two float32 arrays (H, W, 3) in world coordinates."""
    camera_to_world = np.asarray(camera_to_world, np.float64)
    if camera_to_world.shape != (4, 4):
        raise ValueError(f"camera_to_world must be a 4x4 matrix, got shape {camera_to_world.shape}.")
    j, i = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)  # (H, W) pixel centres
    local = np.stack([(j - 0.5 * width) / focal, -(i - 0.5 * height) / focal, -np.ones_like(i)], -1)  # (H, W, 3)
    directions = local @ camera_to_world[:3, :3].T
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    origins = np.broadcast_to(camera_to_world[:3, 3], directions.shape)
    return origins.astype(np.float32), directions.astype(np.float32)


def trace(origins, directions, steps=200, eps=1e-5):
    """Sphere tracing of rays (..., 3) against :func:`sdf` from :data:`NEAR`: (t (...), hit (...) bool)."""
    origins, directions = np.asarray(origins, np.float64), np.asarray(directions, np.float64)
    t = np.full(origins.shape[:-1], NEAR)
    active = np.ones(t.shape, bool)  # rays neither converged nor past FAR
    for _ in range(steps):
        d = sdf(origins[active] + t[active, None] * directions[active])
        t[active] = np.minimum(t[active] + d, FAR)
        active[active] = (d > eps) & (t[active] < FAR)
        if not active.any():
            break
    hit = np.abs(sdf(origins + t[..., None] * directions)) < 1e-3
    return t, hit & (t < FAR)


def render(camera_to_world, height=SIZE, width=SIZE, focal=FOCAL):
    """Renders one view: (image (H, W, 3) float in [0, 1], mask (H, W) bool, depth (H, W), 0 off the scene)."""
    origins, directions = camera_rays(camera_to_world, height, width, focal)
    t, hit = trace(origins, directions)
    points = origins + t[..., None] * directions
    shade = AMBIENT + (1 - AMBIENT) * np.maximum(normals(points) @ LIGHT, 0.0)  # (H, W)
    image = np.where(hit[..., None], albedo(points) * shade[..., None], BACKGROUND)
    return image, hit, np.where(hit, t, 0.0)


def camera_positions(split):
    """The camera centres (N, 3) of a split: a Fibonacci spiral (train) or seeded random angles (test)."""
    if split not in NUM_VIEWS:
        raise ValueError(f"Unknown split {split!r} of scenes; the splits are {list(NUM_VIEWS)}.")
    n = NUM_VIEWS[split]
    low, high = np.sin(np.radians(-15.0)), np.sin(np.radians(75.0))
    if split == "train":
        z = low + (high - low) * (np.arange(n) + 0.5) / n  # uniform in z: uniform by area on the band
        azimuth = np.arange(n) * np.pi * (3.0 - np.sqrt(5.0))  # the golden angle
    else:
        rng = np.random.default_rng(1)
        z, azimuth = rng.uniform(low, high, n), rng.uniform(0, 2 * np.pi, n)
    ring = np.sqrt(1 - z**2)
    return CAMERA_DISTANCE * np.stack([ring * np.cos(azimuth), ring * np.sin(azimuth), z], -1)


class Scenes(_EmbeddedBuilder):
    """Posed 64x64 views of an analytic coloured scene (sphere, box, torus), rendered by mpkeras's sphere tracer.

    Splits: ``train`` (100 views on a Fibonacci spiral around the scene) and ``test`` (10 held-out views
    at seeded random positions). Features: ``image`` (64, 64, 3) uint8, ``mask`` (64, 64) bool (the ray
    hits the scene), ``depth`` (64, 64) float32 (distance along the unit ray, 0 off the scene),
    ``camera_to_world`` (4, 4) float32 (NeRF/OpenGL convention) and ``focal`` float32 (pixels). See the
    :mod:`mpkeras.data.scenes` module for the scene, the shading and the ray convention.
    """

    SUPERVISED_KEYS = None
    DISABLE_SHUFFLING = True

    def _features(self) -> dict:
        return {
            "image": tfds.features.Image(shape=(SIZE, SIZE, 3), dtype=np.uint8),
            "mask": tfds.features.Tensor(shape=(SIZE, SIZE), dtype=np.bool_),
            "depth": tfds.features.Tensor(shape=(SIZE, SIZE), dtype=np.float32),
            "camera_to_world": tfds.features.Tensor(shape=(4, 4), dtype=np.float32),
            "focal": tfds.features.Scalar(dtype=np.float32),
        }

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        return {split: self._generate_examples(split) for split in NUM_VIEWS}

    def _generate_examples(self, split):
        for n, position in enumerate(camera_positions(split)):
            camera = look_at(position)
            image, mask, depth = render(camera)
            yield n, {"image": np.round(255 * image).astype(np.uint8), "mask": mask,
                      "depth": depth.astype(np.float32), "camera_to_world": camera.astype(np.float32),
                      "focal": np.float32(FOCAL)}


def load_rays(split, data_dir=None):
    """Every pixel's ray of a ``scenes`` split, read through TFDS, as flat numpy arrays.

    Returns:
        A dict with ``origins`` and ``directions`` (N, 3) float32 (unit directions), ``rgb`` (N, 3) float32
        in [0, 1], ``mask`` (N,) bool and ``depth`` (N,) float32, where N = views * 64 * 64 in view order, and
        ``views`` (the number of views) so that ``rgb.reshape(views, 64, 64, 3)`` gives the images back.
    """
    from mpkeras.data.loading import load  # here: loading imports this module through embedded

    rays = {key: [] for key in ("origins", "directions", "rgb", "mask", "depth")}
    views = 0
    for view in load("scenes", split, data_dir=data_dir, as_supervised=False).as_numpy_iterator():
        origins, directions = camera_rays(view["camera_to_world"], SIZE, SIZE, float(view["focal"]))
        for key, value in (("origins", origins), ("directions", directions), ("rgb", view["image"] / 255.0),
                           ("mask", view["mask"]), ("depth", view["depth"])):
            rays[key].append(value.reshape(SIZE * SIZE, -1) if value.ndim == 3 else value.reshape(-1))
        views += 1
    out = {key: np.concatenate(value).astype(np.bool_ if key == "mask" else np.float32) for key, value in rays.items()}
    return {**out, "views": views}
