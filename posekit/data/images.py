"""Synthetic people in images with exact labels, for the image papers (DSR, PersPose), generated from a seed.

Each sample is an anny body (random phenotype; a key pose of posekit's actions within its joint limits; a
procedural outfit with inflated garments, colours and textures) standing on the floor of a procedural scene,
seen by a wide-field camera (horizontal field of view 30-90 degrees by default) that places the subject anywhere
in the frame, lit by a random directional light. The image is the square crop around the subject, rendered
directly with the crop intrinsics K_crop = A K (A: the crop's shift and scale; PersPose, Sec. 3.1), so crops are
exact at any size. With `rotate_to_subject` the camera is first rotated about its centre so that the subject
lies on the optical axis (PersPose's perspective rotation, exactly, by re-rendering instead of warping).

Labels per sample: image (3, S, S) uint8, silhouette, part map (0 background, 1..14 `posekit.body.PARTS`), class
map (0 background, 1..5 `posekit.body.CLASSES`), joints_3d (17, 3) camera frame in metres and joints_2d (17, 2)
crop pixels (pixel centres at +0.5), joints_2d_full (17, 2) in the full frame, vertices (V, 3) camera frame,
phenotype (6,), angles (28,) posekit joint angles, K (3, 3) of the full frame (width x height `frame`), K_crop,
R (3, 3) world -> camera, camera centre (3,), rotation (3, 3) applied by `rotate_to_subject` (identity if not).
Every size has the same layout on disk: shards of up to 1,024 samples (`shard_00000.npz`, ...) and meta.json.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from .scenes import scene_background, vertex_colors
from .synthetic import cache_dir

VERSION = 1
SHARD = 1024
KEYS = ("image", "silhouette", "parts", "classes", "joints_3d", "joints_2d", "joints_2d_full", "vertices",
        "phenotype", "angles", "K", "K_crop", "R", "centre", "rotation")


def _rotation_onto(d: np.ndarray) -> np.ndarray:
    """Rotation taking the optical axis (0, 0, 1) onto direction d (3,)."""
    d = d / np.linalg.norm(d)
    v, c = np.cross([0.0, 0, 1], d), d[2]
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


def _look_rotation(direction: np.ndarray, roll: float) -> np.ndarray:
    """World -> camera rotation (x right, y down, z forward) of a camera looking along direction (3,), z up."""
    z = direction / np.linalg.norm(direction)
    x = np.cross(z, [0.0, 0, 1])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    c, s = math.cos(roll), math.sin(roll)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ R


class ImageGenerator:
    """Draws batches of labelled images; `generate(n)` -> dict of numpy arrays (see the module docstring)."""

    def __init__(self, size: int = 64, seed: int = 0, topology: str = "3pc", fov=(30.0, 90.0), frame: int = 512,
                 distance=(2.5, 8.0), crop_margin: float = 1.25, actions: str = "h36m",
                 rotate_to_subject: bool = False, hard: bool = True):
        from ..body import AnnyBody, ClothingLayout, Retargeter, part_onehot
        from ..render import SoftRasterizer
        self.size, self.seed, self.fov, self.frame, self.distance = size, seed, fov, frame, distance
        self.crop_margin, self.actions, self.rotate_to_subject = crop_margin, actions, rotate_to_subject
        self.body = AnnyBody(topology)
        self.layout = ClothingLayout(self.body)
        self.retarget = Retargeter(self.body)
        self.parts = part_onehot(self.body)
        self.raster = SoftRasterizer(size, size, hard=hard, sigma=0.3)
        self.rest = self.body.reference_vertices.numpy()

    def generate(self, n: int, start: int = 0) -> dict[str, np.ndarray]:
        """Samples start .. start + n - 1 of this seed (each sample has its own generator: any split is stable)."""
        from ..body import CLASSES, dress, sample_angles, sample_outfit, sample_phenotype
        from ..render import lambert, vertex_normals
        rngs = [np.random.default_rng([self.seed, start + i]) for i in range(n)]
        q = np.concatenate([sample_angles(r, 1, self.actions)[0] for r in rngs])
        phen = np.concatenate([sample_phenotype(r, 1) for r in rngs])
        outfits = [sample_outfit(r) for r in rngs]
        labels = torch.from_numpy(np.stack([self.layout.labels(o) for o in outfits]))
        with torch.no_grad():
            out = self.body(self.retarget(q), torch.from_numpy(phen).float())
            verts = dress(out["vertices"], self.body.faces, labels,
                          torch.from_numpy(np.stack([o.thickness() for o in outfits])).float())
            lift = -verts[..., 2].amin(1)  # stand on the floor z = 0
            verts[..., 2] += lift[:, None]
            joints = out["joints"].clone()
            joints[..., 2] += lift[:, None]
        res = {k: [] for k in KEYS}
        attrs, cams, bgs = [], [], []
        for i, r in enumerate(rngs):
            cam = self._camera(r, joints[i].numpy().astype(np.float64), verts[i].numpy().astype(np.float64))
            cams.append(cam)
            colors = torch.from_numpy(vertex_colors(r, labels[i].numpy(), self.rest)).float()
            light = torch.from_numpy(r.normal(size=3) + np.array([0, -1.0, 0.5])).float()
            normals = vertex_normals(verts[i:i + 1] @ torch.from_numpy(cam["R"]).float().T, self.body.faces)
            shaded = lambert(colors[None], normals, light, ambient=r.uniform(0.35, 0.6), diffuse=r.uniform(0.3, 0.7))
            onehot = torch.nn.functional.one_hot(labels[i], len(CLASSES)).float()
            attrs.append(torch.cat([shaded[0], self.parts, onehot], 1))
            bgs.append(scene_background(r, torch.from_numpy(cam["K_crop"]).float(), torch.from_numpy(cam["R"]).float(),
                                        torch.from_numpy(cam["centre"]).float(), self.size, self.size))
        R = torch.from_numpy(np.stack([c["R"] for c in cams])).float()
        C = torch.from_numpy(np.stack([c["centre"] for c in cams])).float()
        Kc = torch.from_numpy(np.stack([c["K_crop"] for c in cams])).float()
        v_cam = (verts - C[:, None]) @ R.transpose(1, 2)
        j_cam = (joints - C[:, None]) @ R.transpose(1, 2)
        with torch.no_grad():
            ren = self.raster(v_cam, self.body.faces, Kc, attributes=torch.stack(attrs))
        alpha, img = ren["alpha"], ren["image"]
        rgb = img[:, :3] + ren["background_weight"][:, None] * torch.stack(bgs)
        noise = torch.from_numpy(np.stack([r.normal(0, r.uniform(0.0, 0.03), (3, self.size, self.size))
                                           for r in rngs])).float()
        res["image"] = ((rgb + noise).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        res["silhouette"] = (alpha > 0.5).numpy()
        fg = alpha > 0.5
        res["parts"] = torch.where(fg, img[:, 3:3 + self.parts.shape[1]].argmax(1) + 1, 0).to(torch.uint8).numpy()
        res["classes"] = torch.where(fg, img[:, 3 + self.parts.shape[1]:].argmax(1) + 1, 0).to(torch.uint8).numpy()
        res["joints_3d"] = j_cam.numpy()
        res["joints_2d"] = self._project(j_cam, Kc).numpy()
        res["joints_2d_full"] = self._project(j_cam, torch.from_numpy(np.stack([c["K"] for c in cams])).float()).numpy()
        res["vertices"] = v_cam.numpy()
        res["phenotype"], res["angles"] = phen.astype(np.float32), q.astype(np.float32)
        for key in ("K", "K_crop", "R", "centre", "rotation"):
            res[key] = np.stack([c[key] for c in cams]).astype(np.float32)
        return res

    @staticmethod
    def _project(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        uv = points[..., :2] / points[..., 2:3]
        return uv * torch.stack([K[:, 0, 0], K[:, 1, 1]], -1)[:, None] + K[:, None, :2, 2]

    def _camera(self, rng: np.random.Generator, joints: np.ndarray, verts: np.ndarray) -> dict:
        """A wide-field camera seeing the subject at a random place in its frame, and the crop around it."""
        fov = math.radians(rng.uniform(*self.fov))
        f = self.frame / 2 / math.tan(fov / 2)
        K = np.array([[f, 0, self.frame / 2], [0, f, self.frame / 2], [0, 0, 1]])
        pelvis = joints[0]
        for _ in range(20):  # find a placement whose whole body is inside the frame
            dist, height = rng.uniform(*self.distance), rng.uniform(0.6, 2.2)
            azim = rng.uniform(-math.pi, math.pi)
            centre = pelvis + np.array([dist * math.cos(azim), dist * math.sin(azim), 0.0])
            centre[2] = height
            R_look = _look_rotation(pelvis - centre, rng.normal(0, 0.05))
            target = rng.uniform(0.15, 0.85, 2) * self.frame  # where the pelvis should appear
            d = np.linalg.inv(K) @ np.array([target[0], target[1], 1.0])
            R = _rotation_onto(d).T @ R_look  # the optical axis turned away from the subject
            cam = (verts - centre) @ R.T
            uv = cam[:, :2] / cam[:, 2:3] * f + self.frame / 2
            if (cam[:, 2] > 0.3).all() and uv.min() > 0 and uv.max() < self.frame:
                break
        rotation = np.eye(3)
        if self.rotate_to_subject:  # turn the camera about its centre onto the subject's box centre
            box = (uv.min(0) + uv.max(0)) / 2
            rotation = _rotation_onto(np.linalg.inv(K) @ np.array([box[0], box[1], 1.0])).T
            R = rotation @ R
            cam = (verts - centre) @ R.T
            uv = cam[:, :2] / cam[:, 2:3] * f + self.frame / 2
        lo, hi = uv.min(0), uv.max(0)
        mid = (lo + hi) / 2 if not self.rotate_to_subject else np.array([self.frame / 2, self.frame / 2])
        side = self.crop_margin * max(hi - lo) if not self.rotate_to_subject else \
            self.crop_margin * 2 * np.abs(np.stack([lo, hi]) - mid).max()
        scale = self.size / side
        A = np.array([[scale, 0, -scale * (mid[0] - side / 2)], [0, scale, -scale * (mid[1] - side / 2)], [0, 0, 1]])
        return {"K": K, "K_crop": A @ K, "R": R, "centre": centre, "rotation": rotation}


def generate_images(n: int, size: int = 64, seed: int = 0, root: str | Path | None = None, batch: int = 64,
                    verbose: bool = True, **options) -> Path:
    """Generate (or find cached) n samples at size x size; returns the folder with the shards and meta.json."""
    if n < 1 or size < 8:
        raise ValueError(f"need n >= 1 and size >= 8, got n={n}, size={size}")
    tag = hashlib.sha1(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:10] if options \
        else "default"
    folder = Path(root or cache_dir() / "images") / f"v{VERSION}-s{seed}-{size}px-{n}-{tag}"
    if (folder / "meta.json").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    gen = ImageGenerator(size=size, seed=seed, **options)
    t0 = time.perf_counter()
    for s0 in range(0, n, SHARD):
        parts = [gen.generate(min(batch, n - b), b) for b in range(s0, min(n, s0 + SHARD), batch)]
        np.savez(folder / f"shard_{s0 // SHARD:05d}.npz", **{k: np.concatenate([p[k] for p in parts]) for k in KEYS})
    seconds = time.perf_counter() - t0
    meta = {"version": VERSION, "n": n, "size": size, "seed": seed, "options": options, "keys": list(KEYS),
            "shard": SHARD, "faces": gen.body.numpy_faces().tolist(), "seconds": round(seconds, 2)}
    (folder / "meta.json").write_text(json.dumps(meta))
    if verbose:
        print(f"posekit.data.images: {n} samples at {size}px in {seconds:.1f} s ({n / seconds:.0f}/s) -> {folder}")
    return folder


def load_images(folder: str | Path) -> dict[str, np.ndarray]:
    """All samples of a generated folder as one dict of arrays (plus 'faces')."""
    folder = Path(folder)
    if not (folder / "meta.json").exists():
        raise FileNotFoundError(f"{folder} has no meta.json: generate it with posekit.data.images.generate_images")
    meta = json.loads((folder / "meta.json").read_text())
    shards = [np.load(p) for p in sorted(folder.glob("shard_*.npz"))]
    data = {k: np.concatenate([s[k] for s in shards]) for k in meta["keys"]}
    data["faces"] = np.asarray(meta["faces"])
    return data
