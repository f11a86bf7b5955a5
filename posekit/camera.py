"""Camera model: intrinsics with Human3.6M distortion, extrinsics, projection and screen normalisation.

Conventions follow VideoPose3D (Pavllo et al., CVPR 2019; `common/camera.py`, `common/h36m_dataset.py`):
- extrinsics are a unit quaternion (w, x, y, z) rotating camera -> world and the camera centre in world metres;
- screen normalisation maps pixels X to X / w * 2 - [1, h / w] (both axes divided by the width);
- the normalised intrinsic vector is concat(f, c, k, p) = 9 values, with f and c in normalised screen units;
- projection clamps the normalised ray to [-1, 1] before distortion, as the reference code does.

Every function accepts numpy arrays or torch tensors (projection stays differentiable in torch).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover - torch is a hard dependency of posekit, kept optional here
    torch = None


def _is_torch(x) -> bool:
    return torch is not None and isinstance(x, torch.Tensor)


def _cross(a, b):
    return torch.cross(a, b, dim=-1) if _is_torch(a) else np.cross(a, b)


def _as_like(value, like):
    if _is_torch(like):
        return torch.as_tensor(np.asarray(value), dtype=like.dtype, device=like.device)
    return np.asarray(value, dtype=like.dtype if hasattr(like, "dtype") else np.float64)


def qrot(q, v):
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4) = (w, x, y, z): v + 2 (w (q x v) + q x (q x v))."""
    q = _as_like(q, v)
    if q.shape[:-1] != v.shape[:-1]:
        shape = v.shape[:-1] + (4,)
        q = q.expand(shape) if _is_torch(q) else np.broadcast_to(q, shape)
    qvec = q[..., 1:]
    uv = _cross(qvec, v)
    uuv = _cross(qvec, uv)
    return v + 2 * (q[..., :1] * uv + uuv)


def qinverse(q):
    """Inverse of unit quaternions (..., 4): negate the vector part."""
    w = q[..., :1]
    return torch.cat([w, -q[..., 1:]], -1) if _is_torch(q) else np.concatenate([w, -q[..., 1:]], -1)


def quaternion_to_matrix(q) -> np.ndarray:
    """(w, x, y, z) -> 3x3 rotation matrix (numpy)."""
    w, x, y, z = np.asarray(q, dtype=np.float64)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def matrix_to_quaternion(m) -> np.ndarray:
    """3x3 rotation matrix -> unit quaternion (w, x, y, z) with w >= 0 (numpy)."""
    m = np.asarray(m, dtype=np.float64)
    tr = np.trace(m)
    if tr > 0:
        s = np.sqrt(tr + 1.0) * 2
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    q = np.array(q)
    q /= np.linalg.norm(q)
    return q if q[0] >= 0 else -q


def world_to_camera(x_world, orientation, translation):
    """World -> camera frame: X_c = rot(q^-1, X_w - t). x_world (..., 3), translation in the same unit."""
    q = _as_like(orientation, x_world)
    t = _as_like(translation, x_world)
    return qrot(qinverse(q), x_world - t)


def camera_to_world(x_cam, orientation, translation):
    """Camera -> world frame: X_w = rot(q, X_c) + t."""
    q = _as_like(orientation, x_cam)
    return qrot(q, x_cam) + _as_like(translation, x_cam)


def normalize_screen(x, w: float, h: float):
    """Pixels (..., 2) -> normalised screen units: X / w * 2 - [1, h / w] (VideoPose3D)."""
    return x / w * 2 - _as_like([1.0, h / w], x)


def image_coordinates(x, w: float, h: float):
    """Inverse of `normalize_screen`: normalised screen units (..., 2) -> pixels."""
    return (x + _as_like([1.0, h / w], x)) * w / 2


def _clamp(x, lo, hi):
    return torch.clamp(x, lo, hi) if _is_torch(x) else np.clip(x, lo, hi)


def pinhole(points, K) -> np.ndarray:
    """Camera-frame points (..., 3) -> pixels (..., 2) with a 3 x 3 pinhole matrix K (no distortion, no clamp)."""
    p = np.asarray(points, dtype=np.float64) @ np.asarray(K, dtype=np.float64).T
    return p[..., :2] / p[..., 2:3]


def project(x_cam, intrinsics, distort: bool = True):
    """Project camera-frame points (..., 3) with intrinsics (9,) or (..., 9) = [f(2), c(2), k(3), p(2)].

    Returns (..., 2) in the unit of f and c (normalised screen units for VideoPose3D's normalised vector,
    pixels for a pixel vector). The distortion is Human3.6M's radial k1..k3 plus tangential p1, p2.
    """
    if x_cam.shape[-1] != 3:
        raise ValueError(f"project expects points (..., 3), got shape {tuple(x_cam.shape)}")
    k9 = _as_like(intrinsics, x_cam)
    if k9.shape[-1] != 9:
        raise ValueError(f"intrinsics must have 9 values [f(2), c(2), k(3), p(2)], got shape {tuple(k9.shape)}")
    if 1 < k9.ndim < x_cam.ndim:  # (B, 9) against (B, ..., 3): insert the middle axes
        k9 = k9.reshape(tuple(k9.shape[:-1]) + (1,) * (x_cam.ndim - k9.ndim) + (9,))
    f, c, k, p = k9[..., :2], k9[..., 2:4], k9[..., 4:7], k9[..., 7:9]
    xy = _clamp(x_cam[..., :2] / x_cam[..., 2:3], -1, 1)
    if not distort:
        return f * xy + c
    r2 = (xy * xy)[..., :1] + (xy * xy)[..., 1:2]
    radial = 1 + k[..., 0:1] * r2 + k[..., 1:2] * r2 ** 2 + k[..., 2:3] * r2 ** 3
    tan = (p * xy)[..., :1] + (p * xy)[..., 1:2]
    xy_d = xy * (radial + tan) + p * r2
    return f * xy_d + c


@dataclass
class Camera:
    """One calibrated camera. f, c in pixels; k = (k1, k2, k3); p = (p1, p2); extrinsics camera -> world.

    `orientation` is a unit quaternion (w, x, y, z) rotating camera -> world; `translation` is the camera centre
    in world coordinates, in metres.
    """

    id: str
    res_w: int
    res_h: int
    focal_length: np.ndarray
    center: np.ndarray
    radial_distortion: np.ndarray = field(default_factory=lambda: np.zeros(3))
    tangential_distortion: np.ndarray = field(default_factory=lambda: np.zeros(2))
    orientation: np.ndarray = field(default_factory=lambda: np.array([1.0, 0, 0, 0]))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    azimuth: float = 0.0

    def __post_init__(self):
        for name in ("focal_length", "center", "radial_distortion", "tangential_distortion", "orientation",
                     "translation"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float64))

    @property
    def intrinsics(self) -> np.ndarray:
        """VideoPose3D's normalised 9-vector: f / w * 2 (both axes over w), c screen-normalised, k, p."""
        f = self.focal_length / self.res_w * 2
        c = normalize_screen(self.center, self.res_w, self.res_h)
        return np.concatenate([f, c, self.radial_distortion, self.tangential_distortion]).astype(np.float32)

    @property
    def intrinsics_pixels(self) -> np.ndarray:
        """The 9-vector in pixels: f, c in pixels, then k and p."""
        return np.concatenate([self.focal_length, self.center, self.radial_distortion,
                               self.tangential_distortion]).astype(np.float32)

    @property
    def K(self) -> np.ndarray:
        """3x3 pinhole matrix in pixels (distortion not included)."""
        return np.array([[self.focal_length[0], 0, self.center[0]], [0, self.focal_length[1], self.center[1]],
                         [0, 0, 1.0]])

    @property
    def rotation_world_to_camera(self) -> np.ndarray:
        return quaternion_to_matrix(self.orientation).T

    def world_to_camera(self, x_world):
        return world_to_camera(x_world, self.orientation, self.translation)

    def camera_to_world(self, x_cam):
        return camera_to_world(x_cam, self.orientation, self.translation)

    def project_pixels(self, x_cam, distort: bool = True):
        """Camera-frame points (..., 3) -> pixels (..., 2)."""
        return project(x_cam, self.intrinsics_pixels, distort=distort)

    def project_normalized(self, x_cam, distort: bool = True):
        """Camera-frame points (..., 3) -> normalised screen units (..., 2)."""
        return project(x_cam, self.intrinsics, distort=distort)

    def normalize(self, x_pixels):
        return normalize_screen(x_pixels, self.res_w, self.res_h)

    def to_dict(self) -> dict:
        return {"id": self.id, "res_w": int(self.res_w), "res_h": int(self.res_h),
                "focal_length": self.focal_length.tolist(), "center": self.center.tolist(),
                "radial_distortion": self.radial_distortion.tolist(),
                "tangential_distortion": self.tangential_distortion.tolist(),
                "orientation": self.orientation.tolist(), "translation": self.translation.tolist(),
                "azimuth": float(self.azimuth)}

    @classmethod
    def from_dict(cls, d: dict) -> "Camera":
        return cls(**d)


def look_at(position, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Orientation quaternion (camera -> world) of a camera at `position` looking at `target`.

    Camera axes follow the computer-vision convention: x right, y down, z forward (the optical axis).
    """
    position, target, up = (np.asarray(a, dtype=np.float64) for a in (position, target, up))
    z = target - position
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-8:
        x = np.cross(z, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return matrix_to_quaternion(np.stack([x, y, z], axis=1))


# Human3.6M intrinsics (as VideoPose3D's `common/h36m_dataset.py` lists them), in the camera order 54138969, 55011271, 58860488, 60457274.
H36M_INTRINSICS = [
    dict(id="54138969", center=[512.54150390625, 515.4514770507812], focal_length=[1145.0494384765625, 1143.7811279296875],
         radial_distortion=[-0.20709891617298126, 0.24777518212795258, -0.0030751503072679043],
         tangential_distortion=[-0.0009756988729350269, -0.00142447161488235], res_w=1000, res_h=1002, azimuth=70),
    dict(id="55011271", center=[508.8486328125, 508.0649108886719], focal_length=[1149.6756591796875, 1147.5916748046875],
         radial_distortion=[-0.1942136287689209, 0.2404085397720337, 0.006819975562393665],
         tangential_distortion=[-0.0016190266469493508, -0.0027408944442868233], res_w=1000, res_h=1000, azimuth=-70),
    dict(id="58860488", center=[519.8158569335938, 501.40264892578125], focal_length=[1149.1407470703125, 1148.7989501953125],
         radial_distortion=[-0.2083381861448288, 0.25548800826072693, -0.0024604974314570427],
         tangential_distortion=[0.0014843869721516967, -0.0007599993259645998], res_w=1000, res_h=1000, azimuth=110),
    dict(id="60457274", center=[514.9682006835938, 501.88201904296875], focal_length=[1145.5113525390625, 1144.77392578125],
         radial_distortion=[-0.198384091258049, 0.21832367777824402, -0.008947807364165783],
         tangential_distortion=[-0.0005872055771760643, -0.0018133620033040643], res_w=1000, res_h=1002, azimuth=-110),
]

# Per-subject extrinsics: (quaternion camera -> world, camera centre in mm), cameras 0..3 (VideoPose3D's
# `common/h36m_dataset.py`).
H36M_EXTRINSICS = {
    "S1": [([0.1407056450843811, -0.1500701755285263, -0.755240797996521, 0.6223280429840088], [1841.1070556640625, 4955.28466796875, 1563.4454345703125]),
           ([0.6157187819480896, -0.764836311340332, -0.14833825826644897, 0.11794740706682205], [1761.278564453125, -5078.0068359375, 1606.2650146484375]),
           ([0.14651472866535187, -0.14647851884365082, 0.7653023600578308, -0.6094175577163696], [-1846.7777099609375, 5215.04638671875, 1491.972412109375]),
           ([0.5834008455276489, -0.7853162288665771, 0.14548823237419128, -0.14749594032764435], [-1794.7896728515625, -3722.698974609375, 1574.8927001953125])],
    "S5": [([0.1467377245426178, -0.162370964884758, -0.7551892995834351, 0.6178938746452332], [2097.3916015625, 4880.94482421875, 1605.732421875]),
           ([0.6159758567810059, -0.7626792192459106, -0.15728192031383514, 0.1189815029501915], [2031.7008056640625, -5167.93310546875, 1612.923095703125]),
           ([0.14291371405124664, -0.12907841801643372, 0.7678384780883789, -0.6110143065452576], [-1620.5948486328125, 5171.65869140625, 1496.43701171875]),
           ([0.5920479893684387, -0.7814217805862427, 0.1274748593568802, -0.15036417543888092], [-1637.1737060546875, -3867.3173828125, 1547.033203125])],
    "S6": [([0.1337897777557373, -0.15692396461963654, -0.7571090459823608, 0.6198879480361938], [1935.4517822265625, 4950.24560546875, 1618.0838623046875]),
           ([0.6147197484970093, -0.7628812789916992, -0.16174767911434174, 0.11819244921207428], [1969.803955078125, -5128.73876953125, 1632.77880859375]),
           ([0.1529948115348816, -0.13529130816459656, 0.7646096348762512, -0.6112781167030334], [-1769.596435546875, 5185.361328125, 1476.993408203125]),
           ([0.5916101336479187, -0.7804774045944214, 0.12832270562648773, -0.1561593860387802], [-1721.668701171875, -3884.13134765625, 1540.4879150390625])],
    "S7": [([0.1435241848230362, -0.1631336808204651, -0.7548328638076782, 0.6188824772834778], [1974.512939453125, 4926.3544921875, 1597.8326416015625]),
           ([0.6141672730445862, -0.7638262510299683, -0.1596645563840866, 0.1177929937839508], [1937.0584716796875, -5119.7900390625, 1631.5665283203125]),
           ([0.14550060033798218, -0.12874816358089447, 0.7660516500473022, -0.6127139329910278], [-1741.8111572265625, 5208.24951171875, 1464.8245849609375]),
           ([0.5912848114967346, -0.7821764349937439, 0.12445473670959473, -0.15196487307548523], [-1734.7105712890625, -3832.42138671875, 1548.5830078125])],
    "S8": [([0.14110587537288666, -0.15589867532253265, -0.7561917304992676, 0.619644045829773], [2150.65185546875, 4896.1611328125, 1611.9046630859375]),
           ([0.6169601678848267, -0.7647668123245239, -0.14846350252628326, 0.11158157885074615], [2219.965576171875, -5148.453125, 1613.0440673828125]),
           ([0.1471444070339203, -0.13377119600772858, 0.7670128345489502, -0.6100369691848755], [-1571.2215576171875, 5137.0185546875, 1498.1761474609375]),
           ([0.5927824378013611, -0.7825870513916016, 0.12147816270589828, -0.14631995558738708], [-1476.913330078125, -3896.7412109375, 1547.97216796875])],
    "S9": [([0.15540587902069092, -0.15548215806484222, -0.7532095313072205, 0.6199594736099243], [2044.45849609375, 4935.1171875, 1481.2275390625]),
           ([0.618784487247467, -0.7634735107421875, -0.14132238924503326, 0.11933968216180801], [1990.959716796875, -5123.810546875, 1568.8048095703125]),
           ([0.13357827067375183, -0.1367100477218628, 0.7689454555511475, -0.6100738644599915], [-1670.9921875, 5211.98583984375, 1528.387939453125]),
           ([0.5879399180412292, -0.7823407053947449, 0.1427614390850067, -0.14794869720935822], [-1696.04345703125, -3827.099853515625, 1591.4127197265625])],
    "S11": [([0.15232472121715546, -0.15442320704460144, -0.7547563314437866, 0.6191070079803467], [2098.440185546875, 4926.5546875, 1500.278564453125]),
            ([0.6189449429512024, -0.7600917220115662, -0.15300633013248444, 0.1255258321762085], [2083.182373046875, -4912.1728515625, 1561.07861328125]),
            ([0.14943228662014008, -0.15650227665901184, 0.7681233882904053, -0.6026304364204407], [-1609.8153076171875, 5177.3359375, 1537.896728515625]),
            ([0.5894251465797424, -0.7818877100944519, 0.13991211354732513, -0.14715361595153809], [-1590.738037109375, -3854.1689453125, 1578.017578125])],
}


def h36m_cameras(subject: str) -> list[Camera]:
    """The four calibrated Human3.6M cameras of one subject (extrinsics in metres)."""
    if subject not in H36M_EXTRINSICS:
        raise KeyError(f"no Human3.6M extrinsics for subject {subject!r}; known: {', '.join(H36M_EXTRINSICS)}")
    return [Camera(**intr, orientation=q, translation=np.asarray(t) / 1000.0)
            for intr, (q, t) in zip(H36M_INTRINSICS, H36M_EXTRINSICS[subject])]
