"""Procedural human motion on the Human3.6M 17-joint skeleton.

The body is a kinematic tree: every bone has a rest offset (in its parent's frame; x forward, y left, z up) and a
rotation built from anatomical angles (hip flexion / abduction / rotation, knee flexion, ...), clipped to joint
limits. Actions are sequences of key poses joined by minimum-jerk transitions, with a gait driven by the root's
travelled distance (so feet move whenever the body travels), smooth physiological noise and ground contact (the
lowest of feet, knees and pelvis touches the floor). Everything is vectorised over frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DOFS = (
    "root_yaw", "root_pitch", "root_roll",
    "spine_flex", "spine_side", "spine_twist",
    "chest_flex", "chest_side", "chest_twist",
    "neck_flex", "neck_turn", "head_nod",
    "l_hip_flex", "l_hip_abd", "l_hip_rot", "l_knee",
    "r_hip_flex", "r_hip_abd", "r_hip_rot", "r_knee",
    "l_sh_flex", "l_sh_abd", "l_sh_rot", "l_elbow",
    "r_sh_flex", "r_sh_abd", "r_sh_rot", "r_elbow",
)
D = {name: i for i, name in enumerate(DOFS)}

# Joint limits in radians (lo, hi); root yaw is unbounded.
LIMITS = {
    "root_pitch": (-0.5, 1.4), "root_roll": (-0.4, 0.4),
    "spine_flex": (-0.35, 1.0), "spine_side": (-0.45, 0.45), "spine_twist": (-0.6, 0.6),
    "chest_flex": (-0.3, 0.7), "chest_side": (-0.35, 0.35), "chest_twist": (-0.5, 0.5),
    "neck_flex": (-0.6, 0.8), "neck_turn": (-1.1, 1.1), "head_nod": (-0.4, 0.5),
    "l_hip_flex": (-0.5, 2.3), "l_hip_abd": (-0.35, 0.9), "l_hip_rot": (-0.7, 0.7), "l_knee": (0.0, 2.5),
    "r_hip_flex": (-0.5, 2.3), "r_hip_abd": (-0.35, 0.9), "r_hip_rot": (-0.7, 0.7), "r_knee": (0.0, 2.5),
    "l_sh_flex": (-0.9, 3.0), "l_sh_abd": (-0.3, 2.9), "l_sh_rot": (-1.2, 1.2), "l_elbow": (0.0, 2.6),
    "r_sh_flex": (-0.9, 3.0), "r_sh_abd": (-0.3, 2.9), "r_sh_rot": (-1.2, 1.2), "r_elbow": (0.0, 2.6),
}
LO = np.array([LIMITS.get(n, (-np.inf, np.inf))[0] for n in DOFS])
HI = np.array([LIMITS.get(n, (-np.inf, np.inf))[1] for n in DOFS])

NEUTRAL = np.zeros(len(DOFS))
NEUTRAL[[D["l_sh_abd"], D["r_sh_abd"]]] = 0.12
NEUTRAL[[D["l_elbow"], D["r_elbow"]]] = 0.2
NEUTRAL[[D["l_knee"], D["r_knee"]]] = 0.04

# Rest offsets (metres, 1.75 m body) of each joint from its parent, H36M-17 order, parent's frame.
REST_OFFSETS = np.array([
    [0, 0, 0], [0, -0.13, -0.03], [0, 0, -0.44], [0, 0, -0.45], [0, 0.13, -0.03], [0, 0, -0.44], [0, 0, -0.45],
    [0.01, 0, 0.23], [0, 0, 0.25], [0.07, 0, 0.10], [-0.03, 0, 0.11],
    [0, 0.145, -0.04], [0, 0, -0.28], [0, 0, -0.25], [0, -0.145, -0.04], [0, 0, -0.28], [0, 0, -0.25],
])
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
ANKLE_HEIGHT = 0.08


@dataclass(frozen=True)
class Body:
    """Anthropometrics of one subject: rest offsets (17, 3) in metres."""

    offsets: np.ndarray
    height: float

    @staticmethod
    def sample(rng: np.random.Generator, height_range=(1.55, 1.92)) -> "Body":
        height = rng.uniform(*height_range)
        scale = height / 1.75
        offsets = REST_OFFSETS * scale
        seg = rng.normal(1.0, 0.04, size=(17, 1))  # per-segment proportions
        for left, right in ((4, 1), (5, 2), (6, 3), (11, 14), (12, 15), (13, 16)):
            seg[left] = seg[right]  # bodies are symmetric
        width = rng.normal(1.0, 0.07)
        offsets = offsets * seg
        offsets[[1, 4, 11, 14], 1] *= width
        return Body(offsets=offsets, height=height)

    @property
    def leg_length(self) -> float:
        return float(np.linalg.norm(self.offsets[2]) + np.linalg.norm(self.offsets[3]) + ANKLE_HEIGHT)


# DOF groups that move with their own timing: trunk and head, each arm, each leg.
GROUPS = (
    [D[n] for n in ("spine_flex", "spine_side", "spine_twist", "chest_flex", "chest_side", "chest_twist",
                    "neck_flex", "neck_turn", "head_nod")],
    [D[n] for n in DOFS if n.startswith("l_sh") or n == "l_elbow"],
    [D[n] for n in DOFS if n.startswith("r_sh") or n == "r_elbow"],
    [D[n] for n in DOFS if n.startswith("l_hip") or n == "l_knee"],
    [D[n] for n in DOFS if n.startswith("r_hip") or n == "r_knee"],
)


@dataclass(frozen=True)
class Style:
    """A subject's way of moving (the per-actor differences of Human3.6M, Ionescu et al., TPAMI 2014, Sec. 3).

    posture: radians added to every key pose (a stoop, carried elbows, hips turned out); amplitude: how far
    key poses depart from neutral; tempo: multiplies hold and transition times; lag: seconds each DOF group
    (trunk, arms, legs) trails the key-pose schedule, so limbs do not all start and stop together.
    """

    posture: np.ndarray
    amplitude: float
    tempo: float
    lag: np.ndarray

    @staticmethod
    def sample(rng: np.random.Generator, extreme: float = 1.0) -> "Style":
        posture = np.zeros(len(DOFS))
        for name, sd in (("spine_flex", 0.08), ("chest_flex", 0.06), ("neck_flex", 0.1), ("spine_side", 0.03),
                         ("l_sh_abd", 0.08), ("r_sh_abd", 0.08), ("l_elbow", 0.15), ("r_elbow", 0.15),
                         ("l_hip_rot", 0.1), ("r_hip_rot", 0.1), ("l_knee", 0.05), ("r_knee", 0.05),
                         ("l_sh_rot", 0.15), ("r_sh_rot", 0.15)):
            posture[D[name]] = rng.normal(0, sd * extreme)
        posture[[D["l_knee"], D["r_knee"]]] = np.abs(posture[[D["l_knee"], D["r_knee"]]])
        return Style(posture=posture, amplitude=float(rng.uniform(0.85, 1.15)), tempo=float(rng.uniform(0.75, 1.3)),
                     lag=rng.uniform(0.0, 0.35, size=len(GROUPS)))


NO_STYLE = Style(posture=np.zeros(len(DOFS)), amplitude=1.0, tempo=1.0, lag=np.zeros(len(GROUPS)))


def _rx(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _ry(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rz(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def bone_rotations(q: np.ndarray) -> dict[int, np.ndarray]:
    """Local rotation (T, 3, 3) of the bone ending at each joint, from joint angles q (T, len(DOFS))."""
    a = {n: q[:, i] for n, i in D.items()}
    eye = np.broadcast_to(np.eye(3), (len(q), 3, 3))
    rot = {j: eye for j in range(17)}
    rot[0] = _rz(a["root_yaw"]) @ _ry(a["root_pitch"]) @ _rx(a["root_roll"])
    rot[7] = _rz(a["spine_twist"]) @ _ry(a["spine_flex"]) @ _rx(-a["spine_side"])
    rot[8] = _rz(a["chest_twist"]) @ _ry(a["chest_flex"]) @ _rx(-a["chest_side"])
    rot[9] = _rz(a["neck_turn"]) @ _ry(a["neck_flex"])
    rot[10] = _ry(a["head_nod"])
    for side, sign, thigh, shin, upper, fore in (("l", 1, 5, 6, 12, 13), ("r", -1, 2, 3, 15, 16)):
        rot[thigh] = _ry(-a[f"{side}_hip_flex"]) @ _rx(sign * a[f"{side}_hip_abd"]) @ _rz(sign * a[f"{side}_hip_rot"])
        rot[shin] = _ry(a[f"{side}_knee"])
        rot[upper] = _ry(-a[f"{side}_sh_flex"]) @ _rx(sign * a[f"{side}_sh_abd"]) @ _rz(sign * a[f"{side}_sh_rot"])
        rot[fore] = _ry(-a[f"{side}_elbow"])
    return rot


def forward_kinematics(q: np.ndarray, body: Body, root_position: np.ndarray) -> np.ndarray:
    """Joint positions (T, 17, 3) in world metres (z up) from angles q (T, DOFS) and root positions (T, 3)."""
    rot = bone_rotations(q)
    glob = [None] * 17
    pos = np.zeros((len(q), 17, 3))
    pos[:, 0] = root_position
    glob[0] = rot[0]
    for j in range(1, 17):
        p = PARENTS[j]
        # A bone hangs from its parent's frame; the bones leaving the pelvis and thorax take the parent's frame.
        frame = glob[p] @ rot[j]
        glob[j] = frame
        pos[:, j] = pos[:, p] + np.einsum("tij,j->ti", frame, body.offsets[j])
    return pos


def min_jerk(x: np.ndarray) -> np.ndarray:
    """Minimum-jerk profile 10x^3 - 15x^4 + 6x^5 on [0, 1]."""
    x = np.clip(x, 0, 1)
    return x ** 3 * (10 - 15 * x + 6 * x * x)


def keyframe_track(values: np.ndarray, holds: np.ndarray, moves: np.ndarray, n_frames: int, fps: float,
                   delay: float = 0.0) -> np.ndarray:
    """Piecewise track (n_frames, C): hold key k for holds[k] s, then move to key k+1 over moves[k] s; `delay`
    seconds late (the first key is held meanwhile)."""
    t = np.maximum(np.arange(n_frames) / fps - delay, 0.0)
    out = np.empty((n_frames, values.shape[1]))
    start, k = 0.0, 0
    out[:] = values[-1]
    for k in range(len(values)):
        hold_end = start + holds[k]
        sel = (t >= start) & (t < hold_end)
        out[sel] = values[k]
        if k + 1 < len(values):
            move_end = hold_end + moves[k]
            sel = (t >= hold_end) & (t < move_end)
            w = min_jerk((t[sel] - hold_end) / max(moves[k], 1e-6))[:, None]
            out[sel] = values[k] * (1 - w) + values[k + 1] * w
            start = move_end
        else:
            out[t >= start] = values[k]
    return out


def smooth_noise(rng: np.random.Generator, n_frames: int, channels: int, fps: float, amplitude,
                 freq_range=(0.08, 0.7), components: int = 3) -> np.ndarray:
    """Sum of random low-frequency sinusoids (n_frames, channels): the slow wander of a living body."""
    t = np.arange(n_frames)[:, None, None] / fps
    f = rng.uniform(*freq_range, size=(1, channels, components))
    ph = rng.uniform(0, 2 * np.pi, size=(1, channels, components))
    amp = np.asarray(amplitude, dtype=float).reshape(1, -1, 1) / np.sqrt(components)
    return (amp * np.sin(2 * np.pi * f * t + ph)).sum(-1)


def gait(distance: np.ndarray, speed: np.ndarray, body: Body, amplitude: float = 1.0, run: bool = False) -> np.ndarray:
    """Angle offsets (T, DOFS) of walking (or running) driven by the travelled distance (T,) and speed (T,) m/s.

    The gait phase advances with distance, so legs stop when the body stops; swing amplitude grows with speed.
    """
    q = np.zeros((len(distance), len(DOFS)))
    stride = (2.2 if run else 1.55) * body.leg_length  # metres per full cycle (two steps)
    phase = 2 * np.pi * distance / stride
    a = amplitude * np.clip(speed / (3.0 if run else 1.3), 0, 1.2)
    hip = (0.55 if run else 0.42) * a
    for side, ph in (("l", phase), ("r", phase + np.pi)):
        q[:, D[f"{side}_hip_flex"]] = hip * np.sin(ph) + 0.08 * a
        swing = np.clip(np.cos(ph + 0.3), 0, None) ** 2
        q[:, D[f"{side}_knee"]] = a * ((1.6 if run else 1.0) * swing + 0.12 * np.clip(np.sin(ph), 0, None))
        other = "r" if side == "l" else "l"  # arms swing with the opposite leg
        q[:, D[f"{other}_sh_flex"]] = (0.5 if run else 0.65) * hip * np.sin(ph)
        q[:, D[f"{side}_elbow"]] = a * ((1.3 if run else 0.15) + 0.1 * np.sin(ph))
    q[:, D["spine_twist"]] = 0.08 * a * np.sin(phase)
    q[:, D["root_roll"]] = 0.03 * a * np.sin(phase)
    q[:, D["root_pitch"]] = (0.18 if run else 0.04) * a
    return q


def ground_contact(pos: np.ndarray) -> np.ndarray:
    """Shift poses (T, 17, 3) vertically so the lowest of feet, knees and pelvis rests on the floor z = 0."""
    contact = np.stack([pos[:, 3, 2] - ANKLE_HEIGHT, pos[:, 6, 2] - ANKLE_HEIGHT,
                        pos[:, 2, 2] - 0.06, pos[:, 5, 2] - 0.06, pos[:, 0, 2] - 0.10,
                        pos[:, 13, 2] - 0.04, pos[:, 16, 2] - 0.04], -1).min(-1)
    out = pos.copy()
    out[:, :, 2] -= contact[:, None]
    return out
