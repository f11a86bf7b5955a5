"""Live controls (ipywidgets) around the 3D viewer: pick a test sequence, its camera and the models shown."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..skeleton import Skeleton
from .common import check_poses
from .figures import skeleton_viewer


class Explorer:
    """ipywidgets controls around `skeleton_viewer`: choose a test sequence, its camera and the models shown.

    Displays as `widget`: the controls, a status line and an `ipywidgets.Output` holding the plotly figure of the
    current selection (`figure`; 2D input and GT 2D beside GT and predicted 3D), rebuilt on every change. The
    figure is sent to the Output only once a frontend has drawn the widget (ipywidgets' `_view_count`): headless
    executors (papermill, nbclient) draw no widget, and they hang on an Output widget that receives a large figure.
    """

    def __init__(self, dataset, predictions: Mapping[str, Mapping[str, object]], skeleton: Skeleton | None = None,
                 max_frames: int = 300):
        import ipywidgets as W

        self.skeleton = skeleton or dataset.skeleton
        self.max_frames = max_frames
        self.fps = float(getattr(dataset, "fps", 50.0))
        if not isinstance(predictions, Mapping) or not all(isinstance(v, Mapping) for v in predictions.values()):
            raise ValueError("predictions: expected {model_name: {sequence.name: (T, J, 3) metres}}")
        sequences = list(dataset.test) if len(dataset.test_subjects) and len(dataset.test) else list(dataset)
        if not sequences:
            raise ValueError(f"dataset {dataset.name!r} has no sequences to explore")
        self.groups: dict[tuple[str, str], dict[int, object]] = {}
        for s in sequences:
            self.groups.setdefault((s.subject, s.action), {})[s.camera_index] = s
        by_name = {s.name: s for s in sequences}
        self.predictions: dict[str, dict[str, np.ndarray]] = {}
        for model, preds in predictions.items():
            self.predictions[model] = {}
            for name, arr in preds.items():
                if name not in by_name:
                    continue
                a = check_poses(arr, self.skeleton, f"predictions[{model!r}][{name!r}]")
                if a.shape != by_name[name].poses_3d.shape:
                    raise ValueError(f"predictions[{model!r}][{name!r}]: shape {a.shape} does not match the "
                                     f"sequence's poses_3d {by_name[name].poses_3d.shape}")
                self.predictions[model][name] = a
        if predictions and not any(self.predictions.values()):
            raise ValueError(f"predictions: no key matches a sequence of {dataset.name!r}; keys are sequence names "
                             f"such as {sequences[0].name!r}")
        keys = sorted(self.groups, key=lambda k: (not any(
            s.name in p for p in self.predictions.values() for s in self.groups[k].values()), k))
        self.sequence = W.Dropdown(options=[(f"{s} · {a}", (s, a)) for s, a in keys], value=keys[0],
                                   description="sequence", layout=W.Layout(width="320px"))
        self.camera = W.Dropdown(description="camera", layout=W.Layout(width="260px"))
        self.models = W.SelectMultiple(options=list(self.predictions), value=tuple(self.predictions),
                                       description="models", rows=min(4, max(1, len(self.predictions))))
        self.status = W.HTML()
        self.output = W.Output()
        self.figure = None
        self._viewed = False
        self._updating = False
        self._set_cameras()
        self.sequence.observe(lambda _: (self._set_cameras(), self.render()), names="value")
        self.camera.observe(lambda _: None if self._updating else self.render(), names="value")
        self.models.observe(lambda _: self.render(), names="value")
        self.widget = W.VBox([W.HBox([W.VBox([self.sequence, self.camera]), self.models]), self.status,
                              self.output])
        self.widget._view_count = 0  # ask frontends to report how many views of the widget they draw
        self.widget.observe(self._on_view_count, names="_view_count")
        self.render()

    def _set_cameras(self):
        cams = self.groups[self.sequence.value]
        options = [(f"{i}: {s.camera.id}", i) for i, s in sorted(cams.items())]
        self._updating = True  # one render per change of sequence, not one more for the camera reset
        try:
            self.camera.options = options
            self.camera.value = options[0][1]
        finally:
            self._updating = False

    @property
    def current(self):
        """The `Sequence` selected now."""
        return self.groups[self.sequence.value][self.camera.value]

    def build_figure(self):
        """The plotly figure for the current selection: 2D input (and GT 2D) beside GT and predicted 3D."""
        seq = self.current
        poses = {"ground truth": seq.poses_3d}
        missing = []
        for model in self.models.value:
            if seq.name in self.predictions[model]:
                poses[model] = self.predictions[model][seq.name]
            else:
                missing.append(model)
        kp = {"input 2D": seq.keypoints_2d}
        if seq.keypoints_2d_gt is not None and not np.array_equal(seq.keypoints_2d_gt, seq.keypoints_2d):
            kp["GT 2D"] = seq.keypoints_2d_gt
        self.status.value = (f"<b>{seq.name}</b>: {seq.num_frames} frames" +
                             (f"; no prediction from {', '.join(missing)}" if missing else ""))
        return skeleton_viewer(poses, self.skeleton, fps=self.fps, max_frames=self.max_frames, title=seq.name,
                               keypoints_2d=kp, camera=seq.camera)

    def render(self):
        """Rebuild the figure for the current selection and show it in the output area (once a view exists)."""
        from IPython.display import display
        self.figure = self.build_figure()
        if self._viewed:
            with self.output:
                self.output.clear_output(wait=True)
                display(self.figure)

    def _on_view_count(self, change):
        if change["new"] and not self._viewed:
            self._viewed = True
            self.render()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def explorer(dataset, predictions, skeleton: Skeleton | None = None, max_frames: int = 300) -> Explorer:
    """Live controls: pick a test sequence, its camera and the models; see 2D input beside GT and predicted 3D.

    dataset: a `posekit.data.PoseDataset` (its test subjects when it has any, else all sequences).
    predictions: {model_name: {sequence.name: (T, J, 3) camera-frame metres, root-relative like poses_3d}}.
    Returns an `Explorer`; displaying it shows the controls and the figure (2D input and GT 2D beside the 3D
    viewer), which the kernel rebuilds on every change: it needs a running kernel and a widget frontend
    (JupyterLab, VS Code); a notebook executed headlessly keeps the controls but no figure.
    """
    return Explorer(dataset, predictions, skeleton, max_frames)
