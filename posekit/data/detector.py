"""A 2D keypoint detector's errors, simulated from the 3D pose and the camera that sees it.

A real detector's error is not white noise around the truth. Error analyses of COCO/MPII keypoint detectors
(Ruggero Ronchi & Perona, "Benchmarking and Error Diagnosis in Multi-Instance Pose Estimation", ICCV 2017,
Sec. 4-5) and of Human3.6M CPN detections used by 2D-to-3D lifting (Pavllo et al., VideoPose3D, CVPR 2019,
Sec. 5; Zheng et al., "Deep learning-based human pose estimation: a survey", Sec. 4 on occlusion and
truncation) agree on its structure:

- *jitter* (small localisation error) dominates, grows at the limb ends (wrists, elbows, ankles) and is
  temporally correlated (the detector sees nearly the same image in consecutive frames);
- *occlusion*: a joint behind another body part is guessed, often snapped onto the occluding limb;
- *foreshortening*: a limb pointing at the camera has no visible length, so its end is ambiguous;
- *motion blur*: fast joints are smeared over the exposure time;
- *truncation*: a joint near or beyond the image border is cut off;
- *inversion / swap*: left and right are confused, mostly in side views where the two sides overlap;
- *misses that last*: a limb sticks to an earlier position or jumps to the background for several frames;
- a small *static* share: a detector's joint definition differs from the mocap marker's by a fixed offset.

Confidence scores (the heatmap maximum of a real detector) fall with the expected error and during failures,
so `(T, J, 3)` inputs with confidence carry information (COCO's OKS-based scores behave alike).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from ..camera import Camera

# Localisation jitter (pixels, for a person 360 px tall as in Human3.6M), H36M-17 order: limb ends worst.
BASE_PX = 3.3 * np.array([2.6, 3.0, 3.2, 4.2, 3.0, 3.2, 4.2, 2.6, 2.4, 2.4, 2.8, 2.8, 4.4, 5.6, 2.8, 4.4, 5.6])
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
LIMB_ENDS = np.array([2, 3, 5, 6, 12, 13, 15, 16])  # joints a detector loses: knees, ankles, elbows, wrists
# Occluders: every bone (radius 5 cm) plus the trunk as three thick segments; each hides no joint it touches.
_BONES = [(PARENTS[j], j, 0.05) for j in range(1, 17)]
_TRUNK = [(0, 8, 0.14), (1, 4, 0.08), (11, 14, 0.08)]
SEGMENTS = np.array([(a, b) for a, b, _ in _BONES + _TRUNK])
RADII = np.array([r for _, _, r in _BONES + _TRUNK])
_TRUNK_JOINTS = {0, 1, 4, 7, 8, 9, 11, 14}
EXCLUDE = np.zeros((17, len(SEGMENTS)), dtype=bool)
for _s, (_a, _b) in enumerate(SEGMENTS):
    EXCLUDE[[_a, _b], _s] = True
    if _s >= len(_BONES):
        EXCLUDE[list(_TRUNK_JOINTS), _s] = True
EXPOSURE_S = 0.01  # shutter time of the blur model (Human3.6M's cameras film at 50 fps)
LIMB_SWAPS = (((5, 6), (2, 3)), ((12, 13), (15, 16)))


@dataclass(frozen=True)
class DetectorStyle:
    """How bad a detector is in a domain; 1.0 is a Human3.6M-fine-tuned CPN-like detector."""

    noise: float = 1.0       # multiplies the localisation jitter
    failures: float = 1.0    # multiplies the rate of multi-frame failures (stuck / lost limbs)
    swaps: float = 1.0       # multiplies the rate of left/right confusions
    static: float = 0.25     # per-sequence joint offset, as a share of the jitter size


def detector_factors(x_cam: np.ndarray, px: np.ndarray, camera: Camera, fps: float) -> dict[str, np.ndarray]:
    """What makes each joint hard to detect, per frame: (T, J) arrays, plus the body height in pixels.

    occlusion in [0, 1] (1: the joint's image point lies on a body part nearer the camera), foreshortening in
    [0, 1] (1: the bone to the joint points at the camera), blur (joint image speed x exposure / body height),
    truncation (0 inside the image, 1 at 5 % of the body height from the border, larger outside),
    sideness (T,) in [0, 1] (1: a side view, left and right overlap), occluder (T, J, 2) the nearest point of
    the occluding part in pixels.
    """
    t, j, _ = px.shape
    f = float(np.mean(camera.focal_length))
    z = np.maximum(x_cam[..., 2], 0.1)
    height = np.maximum(np.ptp(px[..., 1], axis=1), 1.0)  # (T,)
    height_px = float(np.median(height))

    occlusion, occluder = _occlusion(px, z, f)

    p = np.array(PARENTS[1:])
    length_3d = np.linalg.norm(x_cam[:, 1:] - x_cam[:, p], axis=-1)
    expected = length_3d * f / (0.5 * (z[:, 1:] + z[:, p]))
    fore = np.zeros((t, j))  # only limbs foreshorten; pelvis, shoulder and neck offsets are short and rigid
    fore[:, 1:] = np.clip(1 - np.linalg.norm(px[:, 1:] - px[:, p], axis=-1) / np.maximum(expected, 1e-6), 0, 1)
    fore[:, ~np.isin(np.arange(j), LIMB_ENDS)] = 0.0

    speed = np.linalg.norm(np.gradient(px, axis=0), axis=-1) * fps if t > 1 else np.zeros((t, j))
    blur = speed * EXPOSURE_S / height[:, None]

    border = np.minimum.reduce([px[..., 0], camera.res_w - px[..., 0], px[..., 1], camera.res_h - px[..., 1]])
    truncation = np.clip(1 - border / (0.05 * height[:, None]), 0, 4)

    widths = []
    for left, right in ((4, 1), (11, 14)):
        w3 = np.linalg.norm(x_cam[:, left] - x_cam[:, right], axis=-1) * f / z[:, [left, right]].mean(-1)
        widths.append(np.linalg.norm(px[:, left] - px[:, right], axis=-1) / np.maximum(w3, 1e-6))
    sideness = np.clip(1 - np.mean(widths, axis=0), 0, 1)
    return dict(occlusion=occlusion, foreshortening=fore, blur=blur, truncation=truncation, sideness=sideness,
                occluder=occluder, height_px=height_px)


def _occlusion(px: np.ndarray, z: np.ndarray, f: float, stride: int = 4):
    """How much each joint's image point is covered by a nearer body part (T, J), and that part's nearest point
    (T, J, 2). Bones are capsules of radius RADII; occlusion changes slowly, so it is evaluated on every
    `stride`-th frame (12.5 Hz at 50 fps) and held in between."""
    t = len(px)
    pk, zk = px[::stride].astype(np.float32), z[::stride].astype(np.float32)
    a, b = pk[:, SEGMENTS[:, 0]], pk[:, SEGMENTS[:, 1]]  # (K, S, 2)
    ab = b - a
    rel = pk[:, :, None] - a[:, None]  # (K, J, S, 2)
    s = np.clip((rel * ab[:, None]).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-6)[:, None], 0, 1)
    closest = a[:, None] + s[..., None] * ab[:, None]
    d2 = ((pk[:, :, None] - closest) ** 2).sum(-1)
    z_seg = zk[:, SEGMENTS[:, 0]][:, None] + s * (zk[:, SEGMENTS[:, 1]] - zk[:, SEGMENTS[:, 0]])[:, None]
    radius_px = RADII * f / z_seg
    in_front = 1 / (1 + np.exp(np.clip(-((zk[:, :, None] - z_seg) - 0.06) / 0.02, -30, 30)))
    cover = np.exp(-0.5 * d2 / radius_px ** 2) * in_front
    cover[:, EXCLUDE] = 0.0
    which = cover.argmax(-1)
    occlusion = np.take_along_axis(cover, which[..., None], -1)[..., 0]
    occluder = np.take_along_axis(closest, which[..., None, None].repeat(2, -1), 2)[:, :, 0]
    return (np.repeat(occlusion, stride, 0)[:t].astype(np.float64),
            np.repeat(occluder, stride, 0)[:t].astype(np.float64))


def expected_error(factors: dict, style: DetectorStyle = DetectorStyle()) -> np.ndarray:
    """Per-joint, per-frame jitter size (T, J) in pixels: the base jitter times 1 + the weighted difficulties.

    The weights make an occluded joint about 3x, a fully foreshortened limb end 2x, a 2 %-of-height blur 2x and a
    truncated joint 2-5x as uncertain as a visible, still, well-framed one, the ordering of the error sources in
    Ruggero Ronchi & Perona (2017, Fig. 6).
    """
    hardness = (1 + 2.0 * factors["occlusion"] + 1.0 * factors["foreshortening"]
                + 50.0 * factors["blur"] + 1.2 * factors["truncation"])
    return BASE_PX[None] * factors["height_px"] / 360.0 * style.noise * hardness


def _ar1(rng: np.random.Generator, shape, rho: float) -> np.ndarray:
    """Unit-variance AR(1) noise along axis 0 (temporal correlation rho between frames)."""
    white = rng.normal(size=shape)
    out = lfilter([np.sqrt(1 - rho * rho)], [1, -rho], white, axis=0)
    out[0] = white[0]
    return out


def detect(rng: np.random.Generator, x_cam: np.ndarray, px: np.ndarray, camera: Camera, fps: float,
           style: DetectorStyle = DetectorStyle(), return_factors: bool = False):
    """Detector-like keypoints (T, J, 2) pixels and confidences (T, J) from the camera-frame joints (T, J, 3)
    and their exact projections `px` (T, J, 2).
    """
    if x_cam.shape[:2] != px.shape[:2] or x_cam.shape[-1] != 3 or px.shape[-1] != 2:
        raise ValueError(f"detect expects x_cam (T, J, 3) and px (T, J, 2) of the same T, J; got "
                         f"{x_cam.shape} and {px.shape}")
    t, j, _ = px.shape
    fac = detector_factors(x_cam, px, camera, fps)
    sigma = expected_error(fac, style) * rng.lognormal(0, 0.15)  # some sequences are harder (lighting, clothes)
    base = BASE_PX * fac["height_px"] / 360.0 * style.noise
    # jitter: temporally correlated part (the detector sees almost the same image) + a per-frame part
    noise = sigma[..., None] * (0.9 * _ar1(rng, (t, j, 2), 0.9) + 0.6 * rng.normal(size=(t, j, 2)))
    out = px + noise + style.static * base[None, :, None] * rng.normal(size=(1, j, 2))
    # an occluded joint is pulled onto the part that hides it
    out += 0.35 * fac["occlusion"][..., None] * (fac["occluder"] - px)
    failing = np.zeros((t, j), dtype=bool)
    swapped = np.zeros((t, j), dtype=bool)
    # multi-frame failures of limb ends, likelier when occluded or truncated: stuck at an old position or lost
    rate = 0.008 * style.failures * (0.3 + 3 * fac["occlusion"][:, LIMB_ENDS] + 2 * fac["truncation"][:, LIMB_ENDS])
    for f0, k in zip(*np.nonzero(rng.random(rate.shape) < rate)):
        joint = LIMB_ENDS[k]
        n = int(rng.integers(6, 41))
        sl = slice(f0, min(t, f0 + n))
        chain = [joint] + ([joint + 1] if joint in (2, 5, 12, 15) else [])
        if rng.random() < 0.5:  # stuck: the limb keeps the position it had when it was lost
            out[sl, chain] = out[f0, chain]
        else:  # lost: drifts to a wrong place (a background limb, the other person's hand)
            ang = rng.uniform(0, 2 * np.pi)
            ramp = np.minimum(1, np.arange(sl.stop - sl.start) / 3)[:, None, None]
            out[sl, chain] += ramp * rng.uniform(0.06, 0.2) * fac["height_px"] * np.array([np.cos(ang), np.sin(ang)])
        failing[sl, chain] = True
    # left/right confusions of an arm or leg for several frames, mostly in side views
    for left, right in LIMB_SWAPS:
        p = 0.005 * style.swaps * (0.1 + 4 * fac["sideness"] ** 2)
        for f0 in np.nonzero(rng.random(t) < p)[0]:
            sl = slice(f0, min(t, f0 + int(rng.integers(4, 31))))
            pick = list(left) if rng.random() < 0.5 else [left[-1]]
            other = [right[left.index(q)] for q in pick]
            a, b = out[sl, pick].copy(), out[sl, other].copy()
            out[sl, pick], out[sl, other] = b, a
            swapped[sl, pick + other] = True
    ratio = sigma / base[None]
    conf = 0.97 / (1 + 0.45 * (ratio - 1)) * rng.lognormal(0, 0.08, size=(t, j))
    conf = np.where(failing, conf * rng.uniform(0.25, 0.6, size=(t, j)), conf)
    conf = np.where(swapped, conf * 0.8, conf)  # swaps fool the detector too: only a mild drop
    conf = np.clip(conf, 0.02, 1.0)
    result = (out.astype(np.float32), conf.astype(np.float32))
    if return_factors:
        fac.update(sigma=sigma, failing=failing, swapped=swapped)
        return (*result, fac)
    return result
