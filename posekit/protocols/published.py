"""The numbers the papers publish for their released models, with where each comes from.

Each entry: (method, dataset, 2D source, frames) -> {metric: value} plus the protocol it was measured with and its
source. 'secondary' marks a number copied from another paper's comparison table because the paper itself was not
consulted; 'approximate' a value read off a figure.
"""
from __future__ import annotations

PUBLISHED = [
    # ---- Human3.6M
    dict(method="mixste", dataset="h36m", keypoints="cpn", frames=243, protocol="h36m-mixste",
         values={"MPJPE": 40.9, "P-MPJPE": 32.6}, source="MixSTE paper, Table 1"),
    dict(method="mixste", dataset="h36m", keypoints="cpn", frames=81, protocol="h36m-mixste",
         values={"MPJPE": 42.4, "P-MPJPE": 33.9}, source="MixSTE paper, Table 1"),
    dict(method="mixste", dataset="h36m", keypoints="gt", frames=243, protocol="h36m-mixste",
         values={"MPJPE": 21.6}, source="MixSTE paper, Table 2"),
    dict(method="mixste", dataset="h36m", keypoints="gt", frames=81, protocol="h36m-mixste",
         values={"MPJPE": 25.9}, source="MixSTE paper, Table 2"),
    dict(method="ktpformer", dataset="h36m", keypoints="cpn", frames=243, protocol="h36m-mixste",
         values={"MPJPE": 40.1, "P-MPJPE": 31.9}, source="secondary: HSTGFormer Table 1 (KTPFormer, CPN, T=243)"),
    dict(method="hot", dataset="h36m", keypoints="cpn", frames=243, protocol="h36m-hot",
         values={"MPJPE": 41.0}, source="approximate: HoT README FLOPs-MPJPE figure (MixSTE 40.9, +0.2%)"),
    dict(method="hot-tpc", dataset="h36m", keypoints="cpn", frames=243, protocol="h36m-frame",
         values={"MPJPE": 39.9}, source="approximate: HoT README FLOPs-MPJPE figure (TPC w. MixSTE)"),
    dict(method="uao", dataset="h36m", keypoints="cpn", frames=1, protocol="h36m-frame",
         values={"MPJPE": 49.4}, source="UAO README: GUMLP without test-time optimisation "
                                        "(released file Model_Gaussian_p1_4941.pth; 46.7 with TTO)"),
    dict(method="glagcn-released", dataset="h36m", keypoints="cpn", frames=243, protocol="h36m-videopose3d",
         values={"MPJPE": 44.4, "P-MPJPE": 34.8}, source="secondary: SBAHGNet Table 1 (GLA-GCN, T=243)"),
    dict(method="glagcn-released", dataset="h36m", keypoints="gt", frames=243, protocol="h36m-videopose3d",
         values={"MPJPE": 21.0}, source="secondary; the paper marks it * = with the 3D sequence reconstruction "
                                        "branch, which the released H36M model lacks"),
    dict(method="tcn", dataset="h36m", keypoints="cpn", frames=243, protocol="h36m-videopose3d",
         values={"MPJPE": 46.8, "P-MPJPE": 36.5}, source="VideoPose3D README (pretrained_h36m_cpn.bin)"),
    dict(method="tcn", dataset="h36m", keypoints="cpn", frames=27, protocol="h36m-videopose3d",
         values={"MPJPE": 48.8, "P-MPJPE": 38.0}, source="VideoPose3D README"),
    dict(method="tcn", dataset="h36m", keypoints="gt", frames=243, protocol="h36m-videopose3d",
         values={"MPJPE": 37.2, "P-MPJPE": 27.2}, source="VideoPose3D README"),
    # ---- MPI-INF-3DHP
    dict(method="mixste", dataset="3dhp", keypoints="gt", frames=27, protocol="3dhp-pck",
         values={"PCK": 94.4, "AUC": 66.5, "MPJPE": 54.9},
         source="MixSTE paper, Table 3 (the repository has no 3DHP code)"),
    dict(method="mixste", dataset="3dhp", keypoints="gt", frames=1, protocol="3dhp-pck",
         values={"PCK": 94.2, "AUC": 63.8, "MPJPE": 57.9}, source="MixSTE paper, Table 3"),
    dict(method="ktpformer", dataset="3dhp", keypoints="gt", frames=81, protocol="3dhp-pck",
         values={"PCK": 98.9, "AUC": 85.9, "MPJPE": 16.7}, source="secondary: HSTGFormer Table 2"),
    dict(method="glagcn-released", dataset="3dhp", keypoints="gt", frames=81, protocol="3dhp-pck",
         values={"PCK": 98.5, "AUC": 79.1, "MPJPE": 27.8},
         source="secondary: TCPFormer Table 3 (the official 3DHP model file is not released)"),
    # ---- HumanEva-I
    dict(method="tcn", dataset="humaneva", keypoints="detectron_pt_coco", frames=27, protocol="humaneva-p2",
         values={"P-MPJPE": 33.0}, source="VideoPose3D README (pretrained_humaneva15_detectron.bin, Walk/Jog/Box)"),
]

KEYPOINT_NAMES = {"cpn_ft_h36m_dbb": "cpn", "det": "cpn", "cpn": "cpn", "gt": "gt"}


def published(method: str, dataset: str, keypoints: str, frames: int | None) -> dict | None:
    """The paper's entry for this method, dataset, 2D source and clip length, or None."""
    source = KEYPOINT_NAMES.get(keypoints, keypoints) if dataset == "h36m" else keypoints
    for entry in PUBLISHED:
        key = (entry["method"], entry["dataset"], entry["keypoints"], entry["frames"])
        if key == (method, dataset, source, frames):
            return entry
    return None


def side_by_side(result: dict, entry: dict | None, headline: tuple, protocol: str) -> list[str]:
    """Lines 'metric: measured X | paper Y (source)' for the protocol's headline metrics."""
    lines = []
    for metric in headline:
        measured = result.get(metric)
        text = f"{metric:8s} measured {measured:7.2f}" if measured is not None else f"{metric:8s} measured    -"
        if entry and metric in entry["values"]:
            text += f" | paper {entry['values'][metric]:6.1f} ({entry['source']}"
            text += f"; paper protocol {entry['protocol']})" if entry["protocol"] != protocol else ")"
        else:
            text += " | paper -"
        lines.append(text)
    return lines
