"""Action repertoires of the synthetic datasets: key-pose samplers and walking paths.

`H36M_ACTIONS` mirrors the 15 Human3.6M scenarios; `MPI3DHP_ACTIONS` the 7 MPI-INF-3DHP activity classes, with
wider, more extreme poses (squats, kneeling, lying, kicks, throws, running). Each action turns a random generator
and a duration into joint angles (T, DOFS) and a root path (T, 2) on the floor.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .motion import DOFS, GROUPS, HI, LO, NEUTRAL, NO_STYLE, Body, D, Style, gait, keyframe_track, smooth_noise

U = tuple[float, float]


def _pose(rng: np.random.Generator, base: np.ndarray | None = None, side: str | None = None, **ranges) -> np.ndarray:
    """A key pose: `base` (default neutral) with DOFs set to a value or drawn from (lo, hi).

    Names may use 'a_' for 'the active arm/leg' and 'o_' for the other one; `side` picks which is active.
    """
    q = (NEUTRAL if base is None else base).copy()
    side = side or ("l" if rng.random() < 0.5 else "r")
    other = "r" if side == "l" else "l"
    for name, value in ranges.items():
        name = name.replace("a_", f"{side}_", 1) if name.startswith("a_") else name
        name = name.replace("o_", f"{other}_", 1) if name.startswith("o_") else name
        targets = [f"l_{name[2:]}", f"r_{name[2:]}"] if name.startswith("b_") else [name]
        for t in targets:
            q[D[t]] = rng.uniform(*value) if isinstance(value, tuple) else value
    return q


def _seated(rng, **extra):
    ranges = dict(b_hip_flex=(1.4, 1.65), b_knee=(1.25, 1.75), spine_flex=(-0.05, 0.3))
    return _pose(rng, **{**ranges, **extra})


def _bend(q: np.ndarray, pitch: float) -> np.ndarray:
    """Lean the whole trunk forward by `pitch` while the thighs stay put (hip flexion compensates)."""
    q = q.copy()
    q[D["root_pitch"]] += pitch
    q[D["l_hip_flex"]] += pitch
    q[D["r_hip_flex"]] += pitch
    return q


def _look(rng, q, turn=0.6, nod=0.3):
    q = q.copy()
    q[D["neck_turn"]] += rng.uniform(-turn, turn)
    q[D["neck_flex"]] += rng.uniform(-nod / 2, nod)
    return q


# ---- key-pose samplers: sampler(rng, k, state) -> pose; `state` is a dict an action may keep between keys ----

def directions(rng, k, s):
    if k % 2:
        return _look(rng, _pose(rng, a_sh_flex=(1.1, 1.7), a_sh_abd=(0.0, 0.9), a_elbow=(0.0, 0.35),
                                chest_twist=(-0.4, 0.4)), 0.4)
    return _look(rng, _pose(rng, b_elbow=(0.1, 0.6), spine_twist=(-0.2, 0.2)))


def discussion(rng, k, s):
    return _look(rng, _pose(rng, b_sh_flex=(0.1, 0.8), b_sh_abd=(0.05, 0.5), b_elbow=(0.7, 1.7),
                            b_sh_rot=(-0.5, 0.5), chest_twist=(-0.3, 0.3), spine_side=(-0.1, 0.1)))


def eating(rng, k, s):
    side = s.setdefault("side", "l" if rng.random() < 0.5 else "r")
    if k % 2:
        return _seated(rng, side=side, a_sh_flex=(0.45, 0.8), a_sh_abd=(0.15, 0.45), a_elbow=(2.1, 2.45),
                       neck_flex=(0.1, 0.35), o_sh_flex=(0.4, 0.8), o_elbow=(1.0, 1.5))
    return _seated(rng, side=side, b_sh_flex=(0.5, 0.9), b_elbow=(0.9, 1.5), neck_flex=(0.2, 0.5))


def greeting(rng, k, s):
    mode = k % 6
    if mode in (1, 2, 3):  # waving
        return _pose(rng, side=s.setdefault("side", "r"), a_sh_abd=(1.7, 2.4), a_elbow=(0.6, 1.2),
                     a_sh_rot=(0.3, 0.6) if mode % 2 else (-0.5, -0.2), neck_turn=(-0.2, 0.2))
    if mode == 4:  # bow or handshake
        return _bend(_pose(rng, a_sh_flex=(0.6, 0.9), a_elbow=(0.3, 0.7)), rng.uniform(0.1, 0.6))
    return _look(rng, _pose(rng, b_elbow=(0.2, 0.8)))


def phoning(rng, k, s):
    side = s.setdefault("side", "l" if rng.random() < 0.5 else "r")
    return _look(rng, _pose(rng, side=side, a_sh_flex=(0.25, 0.6), a_sh_abd=(0.35, 0.7), a_elbow=(2.2, 2.5),
                            o_sh_flex=(-0.1, 0.7), o_elbow=(0.2, 1.5), neck_flex=(0.0, 0.3),
                            chest_side=(-0.15, 0.15)), 0.5)


def photo(rng, k, s):
    q = _pose(rng, b_sh_flex=(1.05, 1.45), b_sh_abd=(0.15, 0.4), b_elbow=(1.7, 2.15), chest_twist=(-0.3, 0.3),
              neck_flex=(-0.1, 0.2))
    if rng.random() < 0.35:  # crouch for a low shot
        q = _pose(rng, base=q, b_hip_flex=(0.9, 1.5), b_knee=(1.3, 2.1))
        q = _bend(q, rng.uniform(0.1, 0.4))
    return q


def posing(rng, k, s):
    q = _pose(rng, b_sh_flex=(-0.5, 2.6), b_sh_abd=(0.0, 2.4), b_elbow=(0.0, 2.2), b_sh_rot=(-0.8, 0.8),
              a_hip_abd=(0.0, 0.5), a_hip_flex=(-0.2, 0.5), a_knee=(0.0, 0.6), spine_side=(-0.3, 0.3),
              chest_twist=(-0.4, 0.4), spine_flex=(-0.2, 0.3))
    if rng.random() < 0.3:  # hands on hips
        q = _pose(rng, base=q, b_sh_abd=(0.7, 0.9), b_elbow=(1.7, 2.0), b_sh_rot=(0.6, 0.9), b_sh_flex=(-0.3, 0.0))
    return _look(rng, q, 0.7)


def purchases(rng, k, s):
    q = _pose(rng, b_sh_flex=(0.5, 1.4), b_sh_abd=(0.0, 0.4), b_elbow=(0.2, 1.2), chest_twist=(-0.3, 0.3))
    return _look(rng, _bend(q, rng.uniform(0.0, 0.7)), 0.5, 0.6)


def sitting(rng, k, s):
    q = _seated(rng, b_sh_flex=(0.1, 0.9), b_elbow=(0.4, 1.8), spine_flex=(-0.25, 0.45), chest_twist=(-0.25, 0.25))
    if rng.random() < 0.3:  # crossed legs
        q = _pose(rng, base=q, a_hip_abd=(-0.3, -0.15), a_hip_rot=(-0.4, -0.1), a_knee=(0.9, 1.3))
    return _look(rng, q)


def sitting_down(rng, k, s):
    if k % 3 == 0:
        return _look(rng, _pose(rng, b_elbow=(0.2, 0.8)))
    q = _pose(rng, b_hip_flex=(1.3, 2.0), b_knee=(0.2, 2.3), b_sh_flex=(-0.2, 0.8), b_elbow=(0.2, 1.6))
    return _look(rng, _bend(q, rng.uniform(-0.3, 0.3)), 0.5, 0.5)


def smoking(rng, k, s):
    seated = s.setdefault("seated", rng.random() < 0.4)
    side = s.setdefault("side", "l" if rng.random() < 0.5 else "r")
    make = _seated if seated else (lambda r, **kw: _pose(r, **kw))
    if k % 2:
        return make(rng, side=side, a_sh_flex=(0.4, 0.7), a_sh_abd=(0.2, 0.5), a_elbow=(2.15, 2.45),
                    neck_flex=(-0.1, 0.1))
    return make(rng, side=side, a_sh_flex=(0.0, 0.5), a_elbow=(0.6, 1.4), o_elbow=(0.1, 1.8), o_sh_flex=(0.0, 0.6))


def waiting(rng, k, s):
    style = rng.integers(3)
    if style == 0:  # arms folded
        q = _pose(rng, b_sh_flex=(0.25, 0.5), b_sh_abd=(0.1, 0.3), b_elbow=(1.9, 2.2), b_sh_rot=(0.7, 1.0))
    elif style == 1:  # hands behind the back
        q = _pose(rng, b_sh_flex=(-0.5, -0.3), b_elbow=(1.0, 1.4), b_sh_abd=(0.1, 0.25))
    else:
        q = _pose(rng, b_elbow=(0.1, 0.4))
    q = _pose(rng, base=q, a_knee=(0.0, 0.35), a_hip_abd=(-0.05, 0.12), spine_side=(-0.08, 0.08))
    return _look(rng, q, 0.8)


def walk_dog(rng, k, s):
    side = s.setdefault("side", "l" if rng.random() < 0.5 else "r")
    return _look(rng, _pose(rng, side=side, a_sh_flex=(0.4, 1.0), a_elbow=(0.1, 0.6), a_sh_abd=(0.0, 0.3),
                            spine_flex=(0.0, 0.25), neck_flex=(0.1, 0.5)), 0.4)


def walking(rng, k, s):
    return _look(rng, _pose(rng, b_elbow=(0.1, 0.4), spine_flex=(0.0, 0.1)), 0.3, 0.2)


def walk_together(rng, k, s):
    side = s.setdefault("side", "l" if rng.random() < 0.5 else "r")
    q = _pose(rng, b_elbow=(0.1, 0.9), a_sh_flex=(-0.1, 0.5), neck_flex=(0.0, 0.2))
    q[D["neck_turn"]] = (0.3 if side == "l" else -0.3) + rng.uniform(-0.35, 0.35)
    return q


# ---- MPI-INF-3DHP-like activities ----

def exercising(rng, k, s):
    kind = s.setdefault("kind", int(rng.integers(4)))
    up = k % 2 == 0
    if kind == 0:  # squats
        return _pose(rng, b_sh_flex=(1.2, 1.6), b_elbow=(0.0, 0.3)) if up else \
            _bend(_pose(rng, b_hip_flex=(1.5, 1.9), b_knee=(1.9, 2.3), b_sh_flex=(1.3, 1.7)), rng.uniform(0.2, 0.5))
    if kind == 1:  # jumping jacks
        return _pose(rng, b_sh_abd=(2.5, 2.85), b_hip_abd=(0.3, 0.45), b_elbow=(0.0, 0.2)) if up else \
            _pose(rng, b_sh_abd=(0.05, 0.2), b_hip_abd=(0.0, 0.05))
    if kind == 2:  # lunges
        return _pose(rng) if up else _pose(rng, a_hip_flex=(1.1, 1.4), a_knee=(1.3, 1.6), o_hip_flex=(-0.45, -0.3),
                                           o_knee=(1.2, 1.6), b_sh_abd=(0.6, 0.9), b_elbow=(1.6, 2.0))
    return _pose(rng, b_sh_flex=(2.4, 2.9), b_elbow=(0.0, 0.3)) if up else \
        _bend(_pose(rng, b_sh_flex=(1.3, 1.7), b_knee=(0.0, 0.2)), rng.uniform(1.0, 1.3))  # toe touches


def reaching(rng, k, s):
    mode = rng.integers(3)
    if mode == 0:  # crouch
        return _bend(_pose(rng, b_hip_flex=(1.7, 2.2), b_knee=(2.0, 2.45), b_sh_flex=(0.4, 1.3), b_elbow=(0.2, 1.2)),
                     rng.uniform(0.2, 0.5))
    if mode == 1:  # reach up
        return _look(rng, _pose(rng, a_sh_flex=(2.4, 3.0), a_elbow=(0.0, 0.4), o_sh_flex=(0.0, 2.8),
                                neck_flex=(-0.5, -0.2), spine_side=(-0.2, 0.2)))
    return _bend(_pose(rng, a_sh_flex=(1.0, 1.6), a_elbow=(0.0, 0.5), a_knee=(0.0, 0.6)), rng.uniform(0.6, 1.2))


def on_the_floor(rng, k, s):
    mode = s.setdefault("mode", int(rng.integers(3)))
    if mode == 0:  # kneeling
        return _look(rng, _pose(rng, b_hip_flex=(-0.1, 0.4), b_knee=(1.5, 2.3), b_sh_flex=(0.0, 1.5),
                                b_elbow=(0.2, 1.6)))
    if mode == 1:  # sitting on the floor, legs forward
        return _look(rng, _pose(rng, b_hip_flex=(1.3, 1.7), b_knee=(0.0, 1.4), b_sh_flex=(-0.4, 0.6),
                                b_elbow=(0.0, 1.0), spine_flex=(-0.1, 0.4)))
    q = _pose(rng, b_sh_flex=(1.4, 1.7), b_elbow=(0.0, 0.2), b_knee=(0.0, 0.3))  # plank / push-up
    return _bend(q, rng.uniform(1.25, 1.4)) if k % 2 == 0 else _bend(
        _pose(rng, base=q, b_elbow=(1.0, 1.4), b_sh_flex=(0.8, 1.1)), rng.uniform(1.3, 1.45))


def sports(rng, k, s):
    mode = rng.integers(3)
    if mode == 0:  # kick
        return _pose(rng, a_hip_flex=(1.0, 1.8), a_knee=(0.0, 0.7), b_sh_abd=(0.4, 1.0), spine_flex=(-0.2, 0.0))
    if mode == 1:  # throw
        return _pose(rng, a_sh_flex=(1.8, 2.8), a_sh_abd=(0.6, 1.4), a_elbow=(0.3, 1.8), chest_twist=(-0.5, 0.5),
                     o_sh_flex=(0.3, 1.2), a_knee=(0.2, 0.6))
    return _pose(rng, b_sh_flex=(0.3, 1.2), b_elbow=(0.4, 1.2), chest_twist=(-0.5, 0.5), b_knee=(0.3, 0.8),
                 b_hip_flex=(0.3, 0.7))  # ready stance / swing


def miscellaneous(rng, k, s):
    return posing(rng, k, s) if rng.random() < 0.6 else reaching(rng, k, s)


def standing_walking(rng, k, s):
    return walking(rng, k, s) if k % 2 else waiting(rng, k, s)


def vary_limbs(rng: np.random.Generator, q: np.ndarray, free: float) -> np.ndarray:
    """Perturb each arm, each leg and the trunk independently of the others (prob. 0.6 each): people combine
    an action's gestures with whatever the other limbs are doing, so whole-body poses are combinatorial."""
    q = q.copy()
    for side in "lr":
        if rng.random() < 0.6:
            for name, lo, hi in (("sh_flex", -0.7, 0.9), ("sh_abd", -0.3, 0.7), ("sh_rot", -0.6, 0.6),
                                 ("elbow", -0.7, 0.9)):
                q[D[f"{side}_{name}"]] += free * rng.uniform(lo, hi)
        if rng.random() < 0.6:
            for name, lo, hi in (("hip_flex", -0.15, 0.35), ("hip_abd", -0.08, 0.25), ("hip_rot", -0.3, 0.3),
                                 ("knee", 0.0, 0.5)):
                q[D[f"{side}_{name}"]] += free * rng.uniform(lo, hi)
    if rng.random() < 0.6:
        for name, sd in (("spine_flex", 0.15), ("spine_side", 0.1), ("chest_twist", 0.2), ("neck_turn", 0.3)):
            q[D[name]] += free * rng.normal(0, sd)
    return q


def _wrap(angle):
    return (angle + np.pi) % (2 * np.pi) - np.pi


class Action:
    """How one action moves: a key-pose sampler, timing, stepping/turning habits, or a walking path."""

    def __init__(self, name: str, sampler: Callable, hold: U = (0.4, 1.6), move: U = (0.5, 1.3), step: float = 0.0,
                 turn: float = 0.0, walk: U | None = None, stops: bool = False, run: bool = False,
                 noise: float = 0.04, free: float = 1.0):
        self.name, self.sampler, self.hold, self.move, self.free = name, sampler, hold, move, free
        self.step, self.turn, self.walk, self.stops, self.run, self.noise = step, turn, walk, stops, run, noise

    def generate(self, rng: np.random.Generator, body: Body, n_frames: int, fps: float, extreme: float = 1.0,
                 arena: float = 1.8, style: Style = NO_STYLE):
        """Joint angles q (T, DOFS) and root floor position xy (T, 2) in metres, moved in the subject's `style`."""
        duration = n_frames / fps
        state: dict = {}
        poses, holds, moves = [], [], []
        t = 0.0
        k = 0
        while t < duration + 2:
            q = vary_limbs(rng, self.sampler(rng, k, state), self.free * extreme)
            q = NEUTRAL + (q - NEUTRAL) * extreme * style.amplitude + style.posture
            poses.append(q)
            holds.append(rng.uniform(*self.hold) * style.tempo)
            moves.append(rng.uniform(*self.move) * style.tempo)
            t += holds[-1] + moves[-1]
            k += 1
        poses, holds, moves = np.array(poses), np.array(holds), np.array(moves)
        if self.walk is None:
            xy, yaw = self._stepping(rng, len(poses), arena)
            # give steps and turns time: at most ~0.65 m/s and ~1.5 rad/s on average over a transition
            travel = np.r_[np.linalg.norm(np.diff(xy, axis=0), axis=1), 0]
            turn = np.r_[np.abs(np.diff(yaw)), 0]
            moves = np.maximum(moves, np.maximum(travel / 0.65, turn / 1.5))
            track = keyframe_track(np.concatenate([poses, xy, yaw[:, None]], 1), holds, moves, n_frames, fps)
            q, xy, yaw = track[:, :len(DOFS)], track[:, len(DOFS):len(DOFS) + 2], track[:, -1]
        else:
            q = keyframe_track(poses, holds, moves, n_frames, fps)
            xy, yaw = self._path(rng, n_frames, fps, arena)
        for group, lag in zip(GROUPS, style.lag + rng.uniform(0, 0.25, len(GROUPS))):  # limbs on their own timing
            q[:, group] = keyframe_track(poses[:, group], holds, moves, n_frames, fps, delay=lag)
        q = q + smooth_noise(rng, n_frames, len(DOFS), fps, self.noise * extreme)
        q[:, D["root_yaw"]] = yaw
        speed = np.linalg.norm(np.gradient(xy, axis=0), axis=1) * fps
        distance = np.cumsum(speed) / fps
        q = q + gait(distance, speed, body, run=self.run)
        return np.clip(q, LO, HI), xy

    def _stepping(self, rng, n_keys, arena):
        xy = np.zeros((n_keys, 2))
        yaw = np.zeros(n_keys)
        xy[0] = rng.uniform(-0.6, 0.6, 2)
        yaw[0] = rng.uniform(-np.pi, np.pi)
        for k in range(1, n_keys):
            xy[k], yaw[k] = xy[k - 1], yaw[k - 1]
            if rng.random() < self.step:
                heading = yaw[k] + rng.normal(0, 0.8)
                nxt = xy[k] + rng.uniform(0.3, 0.9) * np.array([np.cos(heading), np.sin(heading)])
                if np.linalg.norm(nxt) > arena:
                    nxt = nxt * arena / np.linalg.norm(nxt) * 0.8
                if np.linalg.norm(nxt - xy[k]) > 0.1:  # face the way you step, turning the short way round
                    yaw[k] += _wrap(np.arctan2(*(nxt - xy[k])[::-1]) - yaw[k])
                xy[k] = nxt
            if rng.random() < self.turn:
                yaw[k] += rng.uniform(-1.3, 1.3)
        return xy, yaw

    def _path(self, rng, n_frames, fps, arena):
        """Walk around an ellipse inside the capture area; speed wanders, optionally with stops."""
        lo, hi = self.walk
        speed = np.clip(rng.uniform(lo, hi) + smooth_noise(rng, n_frames, 1, fps, 0.15)[:, 0], 0.2, None)
        if self.stops:
            gate = smooth_noise(rng, n_frames, 1, fps, 1.0, (0.03, 0.15), 2)[:, 0]
            speed = speed * np.clip(gate + 0.6, 0, 1)
        distance = np.cumsum(speed) / fps
        a, b = rng.uniform(0.9, arena), rng.uniform(0.7, arena * 0.8)
        angle = np.linspace(0, 2 * np.pi, 2000)
        ring = np.stack([a * np.cos(angle), b * np.sin(angle)], 1)
        rot = rng.uniform(0, np.pi)
        ring = ring @ np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]]).T
        if rng.random() < 0.5:
            ring = ring[::-1]
        seg = np.r_[0, np.cumsum(np.linalg.norm(np.diff(ring, axis=0), axis=1))]
        s = (distance + rng.uniform(0, seg[-1])) % seg[-1]
        xy = np.stack([np.interp(s, seg, ring[:, 0]), np.interp(s, seg, ring[:, 1])], 1)
        tangent = np.unwrap(np.arctan2(*np.gradient(ring, axis=0).T[::-1]))  # the path's direction, even at rest
        return xy, np.interp(s, seg, tangent)


H36M_ACTIONS = [
    Action("Directions", directions, step=0.35, turn=0.35),
    Action("Discussion", discussion, hold=(0.2, 0.7), move=(0.3, 0.8), step=0.15, turn=0.3),
    Action("Eating", eating, hold=(0.3, 1.2), move=(0.6, 1.1)),
    Action("Greeting", greeting, hold=(0.1, 0.8), move=(0.25, 0.7), step=0.45, turn=0.3),
    Action("Phoning", phoning, hold=(0.8, 2.5), step=0.45, turn=0.4),
    Action("Photo", photo, step=0.4, turn=0.4),
    Action("Posing", posing, hold=(1.0, 3.0), move=(0.8, 1.6), turn=0.3),
    Action("Purchases", purchases, step=0.4, turn=0.4),
    Action("Sitting", sitting, hold=(0.8, 2.5), move=(0.8, 1.5)),
    Action("SittingDown", sitting_down, hold=(0.8, 2.5), move=(1.0, 1.8), turn=0.2),
    Action("Smoking", smoking, hold=(0.5, 1.8), move=(0.7, 1.2), step=0.1, turn=0.2),
    Action("Waiting", waiting, hold=(1.0, 3.0), move=(0.8, 1.5), step=0.2, turn=0.35, noise=0.05),
    Action("WalkDog", walk_dog, hold=(0.3, 1.0), move=(0.2, 0.6), walk=(0.8, 1.4), stops=True, free=0.6),
    Action("Walking", walking, hold=(0.5, 2.0), walk=(1.0, 1.5), free=0.4),
    Action("WalkTogether", walk_together, hold=(0.5, 1.5), walk=(0.7, 1.1), free=0.5),
]

MPI3DHP_ACTIONS = [
    Action("Standing/Walking", standing_walking, step=0.6, turn=0.5),
    Action("Exercising", exercising, hold=(0.1, 0.5), move=(0.35, 0.8)),
    Action("Sitting", sitting, hold=(0.6, 2.0), move=(0.8, 1.4)),
    Action("Reaching/Crouching", reaching, hold=(0.4, 1.5), move=(0.6, 1.2), step=0.3, turn=0.3),
    Action("OnTheFloor", on_the_floor, hold=(0.5, 1.5), move=(0.8, 1.5), turn=0.2),
    Action("Sports", sports, hold=(0.1, 0.6), move=(0.25, 0.6), walk=(2.0, 3.2), run=True, free=0.6),
    Action("Miscellaneous", miscellaneous, hold=(0.4, 1.8), step=0.3, turn=0.4),
]
