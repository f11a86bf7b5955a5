"""3D skeleton viewer and the notebook plots.

Interactive figures are plotly (`skeleton_viewer`, `keypoints_2d_figure`, `camera_rig_figure`, and the ipywidgets
`explorer` around the viewer); static report figures are matplotlib (`frame_grid`, `training_curves`,
`per_joint_bars`, `per_action_bars`; `accuracy_vs_cost`, `error_heatmap` for many methods). Call
`setup_notebook()` once at the top of a notebook so that plotly figures render in JupyterLab, VS Code and in HTML exported from an executed notebook (no kernel, no internet).

Coordinates. posekit poses are camera-frame metres: x right, y DOWN, z forward (depth). The 3D viewer plots
(x, z, -y) so that the person stands upright, and labels the axes with what they are. World coordinates
(`camera_rig_figure`) are Human3.6M's: metres, z up. 2D keypoints are screen-normalised (VideoPose3D:
X / w * 2 - [1, h / w]) unless said otherwise; image y points down and is drawn downwards.

Colours. Every pose set (ground truth, each model) has its own colour; within a set, left bones are a darker and
right bones a lighter shade of it, centre bones the colour itself.

Modules: `notebook` (renderer setup), `figures` (plotly), `explorer` (ipywidgets), `report` and `compare` (matplotlib),
`common` (input checks, colours, bone polylines, ranges, subsampling).
"""
from .common import PALETTE, SHADE_NOTE
from .compare import accuracy_vs_cost, error_heatmap
from .explorer import Explorer, explorer
from .figures import camera_rig_figure, keypoints_2d_figure, skeleton_viewer
from .notebook import RENDERER, setup_notebook
from .report import frame_grid, per_action_bars, per_joint_bars, training_curves

__all__ = ["setup_notebook", "skeleton_viewer", "keypoints_2d_figure", "camera_rig_figure", "explorer", "Explorer",
           "frame_grid", "training_curves", "per_joint_bars", "per_action_bars", "accuracy_vs_cost", "error_heatmap", "PALETTE", "SHADE_NOTE",
           "RENDERER"]
