"""The sample clip: a rendered person walking and turning, made by posekit itself (no third-party footage).

`sample_path()` is the committed 3-second clip `sample_walk.mp4` (320 x 240 pixels, 25 fps, 75 frames) and
`sample_truth()` its exact labels (`sample_walk.npz`): the Human3.6M-17 joints of the anny body in the camera
frame (metres, x right, y down, z forward) and their projections in pixels. Both were written by `make_sample`,
which renders the free anny body (`posekit.body`, the optional image extra) with posekit's soft rasteriser
(`posekit.render`, hard z-buffer mode): the body walks on the spot (`posekit.data.motion.gait`) while turning
+-40 degrees about the vertical, shaded with one directional light, dressed (short sleeves, trousers, hair), in
front of a procedural room (`posekit.data.scenes`). BlazePose finds the person in every frame of it.

    python -m posekit.video.sample OUT.mp4      # re-make the clip and its labels (OUT.npz beside it)
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT, FPS, FRAMES = 320, 240, 25.0, 75


def sample_path() -> Path:
    """The committed sample clip (mp4)."""
    return HERE / "sample_walk.mp4"


def sample_truth() -> dict[str, np.ndarray]:
    """Exact labels of the sample clip: joints_3d (T, 17, 3) camera-frame metres, joints_2d (T, 17, 2) pixels,
    K (3, 3) intrinsics, fps."""
    with np.load(HERE / "sample_walk.npz") as z:
        return {k: z[k] for k in z.files}


def render_sample(frames: int = FRAMES, width: int = WIDTH, height: int = HEIGHT, fps: float = FPS,
                  topology: str = "3pc") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render the sample clip: frames (T, H, W, 3) uint8 RGB and its labels (see `sample_truth`). Deterministic."""
    import torch

    from ..body import AnnyBody, ClothingLayout, Outfit, Retargeter, dress
    from ..data.images import _look_rotation
    from ..data.motion import D, NEUTRAL, REST_OFFSETS, Body, gait
    from ..data.scenes import scene_background, vertex_colors
    from ..render import SoftRasterizer, lambert, vertex_normals

    body = AnnyBody(topology)
    t = np.arange(frames) / fps
    speed = np.full(frames, 1.1)
    q = np.tile(NEUTRAL, (frames, 1)) + gait(speed * t, speed, Body(REST_OFFSETS, 1.75))
    q[:, D["root_yaw"]] = 0.7 * np.sin(2 * math.pi * t / 3.0)  # yaw 0 faces the camera
    outfit = Outfit(sleeve=0.45, leg=0.95, hair=0.3)
    labels = torch.from_numpy(ClothingLayout(body).labels(outfit))
    with torch.no_grad():
        out = body(Retargeter(body)(q), torch.full((frames, 6), 0.5))
        thickness = torch.from_numpy(outfit.thickness()).float().expand(frames, -1)
        verts = dress(out["vertices"], body.faces, labels.expand(frames, -1), thickness)
        lift = -verts[..., 2].amin()
        verts[..., 2] += lift
        joints = out["joints"].clone()
        joints[..., 2] += lift
    colors = torch.from_numpy(vertex_colors(np.random.default_rng(3), labels.numpy(),
                                            body.reference_vertices.numpy())).float()
    f = width / 2 / math.tan(math.radians(50) / 2)
    K = torch.tensor([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], dtype=torch.float32)
    centre = np.array([0.0, -3.4, 1.1])
    R = torch.from_numpy(_look_rotation(np.array([0.0, 0, 0.9]) - centre, 0.0)).float()
    C = torch.from_numpy(centre).float()
    background = scene_background(np.random.default_rng(1), K, R, C, height, width)
    v_cam, j_cam = (verts - C) @ R.T, (joints - C) @ R.T
    shaded = lambert(colors.expand(frames, -1, -1), vertex_normals(v_cam, body.faces),
                     torch.tensor([0.3, -0.6, -0.7]))
    raster = SoftRasterizer(height, width, hard=True, tile=8)
    with torch.no_grad():
        ren = raster(v_cam, body.faces, K, attributes=shaded)
    image = (ren["image"] + ren["background_weight"][:, None] * background).clamp(0, 1)
    rgb = (image.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    uv = j_cam[..., :2] / j_cam[..., 2:] * torch.stack([K[0, 0], K[1, 1]]) + K[:2, 2]
    truth = {"joints_3d": j_cam.numpy().astype(np.float32), "joints_2d": uv.numpy().astype(np.float32),
             "K": K.numpy(), "fps": np.float32(fps)}
    return rgb, truth


def make_sample(path: str | Path, **options) -> Path:
    """Render the sample clip and write it to `path` (mp4) with its labels beside it (same name, .npz)."""
    from .reader import write_video
    path = Path(path)
    rgb, truth = render_sample(**options)
    write_video(path, rgb, float(truth["fps"]))
    np.savez_compressed(path.with_suffix(".npz"), **truth)
    return path


if __name__ == "__main__":
    print(make_sample(sys.argv[1] if len(sys.argv) > 1 else sample_path()))
