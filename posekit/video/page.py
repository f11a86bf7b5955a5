"""The demo page: the video frames with the detected 2D skeleton beside the animated 3D viewer, one HTML file.

Everything is inside the file (frames as JPEG data URLs, plotly.js inlined, the poses as JSON), so it opens in
any browser without a kernel or a network. The 3D viewer's slider and play button drive the frame shown on the
left (plotly's `plotly_sliderchange` and `plotly_animatingframe` events); below them a heat map shows each
joint's detector confidence over time, 0 in the frames where the detector lost the person.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np

from ..skeleton import H36M_17
from ..viz.common import PALETTE, shade, subsample

_SCRIPT = """
<script>
(function() {
  const D = __DATA__;
  const img = document.getElementById('pk-frame'), svg = document.getElementById('pk-overlay');
  const label = document.getElementById('pk-label');
  function show(t) {
    t = String(t).replace(/[^0-9]/g, '');
    if (!(t in D.images)) return;
    img.src = D.images[t];
    const kp = D.kp[t], conf = D.conf[t];
    let s = '';
    D.bones.forEach(function(b, i) {
      const a = kp[b[0]], c = kp[b[1]];
      s += '<line x1="' + a[0] + '" y1="' + a[1] + '" x2="' + c[0] + '" y2="' + c[1] + '" stroke="' +
           D.colours[i] + '" stroke-width="' + D.stroke + '" stroke-linecap="round"' +
           (D.found[t] ? '' : ' stroke-dasharray="4 3"') + '/>';
    });
    kp.forEach(function(p, j) {
      s += '<circle cx="' + p[0] + '" cy="' + p[1] + '" r="' + D.stroke + '" fill="white" fill-opacity="' +
           (0.25 + 0.75 * conf[j]) + '" stroke="#222" stroke-width="0.5"/>';
    });
    svg.innerHTML = s;
    label.textContent = 'frame ' + t + ' of ' + D.num_frames + (D.found[t] ? '' : ' (person lost: interpolated)');
  }
  const gd = document.getElementById('pk-viewer');
  function hook() {
    if (!gd || !gd.on) { setTimeout(hook, 100); return; }
    gd.on('plotly_sliderchange', function(e) { show(e.step.label); });
    gd.on('plotly_animatingframe', function(e) { show(e.name); });
  }
  show(D.first);
  hook();
})();
</script>
"""


def _jpeg(frame: np.ndarray, quality: int = 80) -> str:
    import cv2
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("OpenCV could not encode a frame as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode()


def confidence_figure(confidence: np.ndarray, found: np.ndarray | None = None, title: str = "detector confidence"):
    """Heat map of each joint's confidence (T, 17) over frames (plotly); lost frames are marked below it."""
    import plotly.graph_objects as go
    T = len(confidence)
    fig = go.Figure(go.Heatmap(z=np.round(confidence.T, 3), x=np.arange(T), y=list(H36M_17.joint_names),
                               zmin=0, zmax=1, colorscale="Viridis", colorbar=dict(title="conf.", len=0.9),
                               hovertemplate="frame %{x}<br>%{y}: %{z:.2f}<extra></extra>"))
    if found is not None and (~found).any():
        lost = np.flatnonzero(~found)
        fig.add_trace(go.Scatter(x=lost, y=[-1.2] * len(lost), mode="markers", name="person lost",
                                 marker=dict(symbol="x", color="#d62728", size=7), hoverinfo="x"))
    fig.update_layout(title=title, height=330, margin=dict(l=90, r=20, t=40, b=40), xaxis_title="frame",
                      yaxis=dict(autorange="reversed", dtick=1), showlegend=bool(found is not None and (~found).any()),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def synced_viewer(poses: dict, track, max_frames: int = 150, jpeg_quality: int = 70, height: int = 520):
    """One plotly figure for notebooks: the video frame with the detected 2D (left) and the 3D viewer (right),
    animated by the same slider. poses: {label: (T, 17, 3)}; track: a `Track2D`. Frames ride in the animation
    frames as JPEG layout images (about 10 kB each at 320x240), so the figure also works without a kernel."""
    from ..camera import Camera
    from ..viz import skeleton_viewer
    clip = track.clip
    w, h = clip.width, clip.height
    camera = Camera("video", w, h, np.array([w, w], float), np.array([w / 2, h / 2]))
    fig = skeleton_viewer(poses, H36M_17, fps=clip.fps, max_frames=max_frames, height=height,
                          keypoints_2d={"detected 2D": track.keypoints}, camera=camera)

    def image(t: int) -> list:
        return [dict(source=_jpeg(clip.frames[t], jpeg_quality), xref="x", yref="y", x=0, y=0, sizex=w, sizey=h,
                     xanchor="left", yanchor="top", sizing="stretch", layer="below")]
    names = [int(f.name) for f in fig.frames] or [0]
    fig.update_layout(images=image(names[0]))
    fig.update_xaxes(range=[0, w], showgrid=False, zeroline=False)
    fig.update_yaxes(range=[h, 0], showgrid=False, zeroline=False, scaleanchor="x")
    for frame in fig.frames:
        frame.layout = dict(frame.layout.to_plotly_json() if frame.layout else {}, images=image(int(frame.name)))
    return fig


def page_html(result, max_frames: int = 300) -> str:
    """The whole page as a string (see the module docstring); result is a `VideoResult`."""
    from ..viz import skeleton_viewer
    track, clip = result.track, result.track.clip
    T = clip.num_frames
    shown = [int(t) for t in subsample(T, max_frames)] if T > 1 else [0]
    viewer = skeleton_viewer({result.method: result.poses_3d}, H36M_17, fps=clip.fps, max_frames=max_frames,
                             title=f"3D: {result.method}", height=520)
    viewer.update_layout(margin=dict(l=0, r=0, t=40))
    colours = [shade(PALETTE[0], H36M_17.side(c)) for c, _ in H36M_17.bones]
    data = {"images": {str(t): _jpeg(clip.frames[t]) for t in shown},
            "kp": {str(t): np.round(track.keypoints_px[t], 1).tolist() for t in shown},
            "conf": {str(t): np.round(track.confidence[t], 2).tolist() for t in shown},
            "found": {str(t): bool(track.found[t]) for t in shown},
            "bones": [[c, p] for c, p in H36M_17.bones], "colours": colours, "first": shown[0],
            "num_frames": T, "stroke": max(2.0, round(max(clip.width, clip.height) / 110, 1))}
    viewer_html = viewer.to_html(full_html=False, include_plotlyjs=True, div_id="pk-viewer", auto_play=False,
                                 include_mathjax=False, config={"displaylogo": False})
    conf_html = confidence_figure(track.confidence, track.found).to_html(full_html=False, include_plotlyjs=False,
                                                                         div_id="pk-confidence")
    rate = float(track.found.mean())
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes) or "<li>none</li>"
    source = html.escape(Path(clip.source).name)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>posekit demo: {source}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 16px; color: #222; }}
.pk-row {{ display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }}
.pk-video {{ flex: 0 1 {min(clip.width, 560)}px; }}
.pk-stage {{ position: relative; width: 100%; }}
.pk-stage img, .pk-stage svg {{ width: 100%; display: block; }}
.pk-stage svg {{ position: absolute; left: 0; top: 0; height: 100%; }}
.pk-3d {{ flex: 1 1 520px; min-width: 420px; }}
.pk-meta {{ font-size: 13px; color: #555; }}
</style></head><body>
<h2>posekit demo: {source}</h2>
<p class="pk-meta">{T} frames, {clip.width}x{clip.height} px, {clip.fps:g} fps; person found in {rate:.0%} of the
frames (BlazePose, mediapipe 0.10.21); lifted to 3D by <b>{html.escape(result.method)}</b>
(root-relative, camera frame, metres; test-time flip). Drag the slider or press &#9654; under the 3D view: the
frame on the left follows.</p>
<div class="pk-row">
  <div class="pk-video"><div class="pk-stage"><img id="pk-frame" alt="video frame">
    <svg id="pk-overlay" viewBox="0 0 {clip.width} {clip.height}" preserveAspectRatio="none"></svg></div>
    <div id="pk-label" class="pk-meta"></div>
    <p class="pk-meta">2D: Human3.6M-17 joints mapped from BlazePose's 33 landmarks; dots fade with lower
    confidence, dashed bones mark interpolated frames.</p></div>
  <div class="pk-3d">{viewer_html}</div>
</div>
{conf_html}
<h3>Notes</h3><ul class="pk-meta">{notes}</ul>
{_SCRIPT.replace("__DATA__", json.dumps(data))}
</body></html>
"""


def write_page(path: str | Path, result, max_frames: int = 300) -> Path:
    path = Path(path)
    path.write_text(page_html(result, max_frames=max_frames), encoding="utf-8")
    return path
