"""XDMF sidecar for ParaView/VisIt: the lattice snapshots as a temporal uniform grid."""

from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import escape

from kmc.runfile import _io as io


def xdmf_text(h5_path: str | Path, h5_ref: str | None = None) -> str:
    """XDMF 3 document describing every snapshot of ``h5_path`` as cell data.

    ``h5_ref`` is how the document names the HDF5 file (default: its file name, for a
    sidecar in the same directory).
    """
    h5_path = Path(h5_path)
    with io.open_h5(h5_path) as f:
        lat = f["particles/lattice"]
        n, nz, ny, nx = lat["phase/value"].shape
        times = lat["phase/time"][()]
        from kmc.config._config import parse_config

        a = parse_config(f["parameters"].attrs["config_toml"]).lattice.spacing_m
    ref = escape(h5_ref if h5_ref is not None else h5_path.name)
    grids = []
    for i in range(n):
        attrs = []
        for name in ("phase", "species"):
            attrs.append(f"""      <Attribute Name="{name}" AttributeType="Scalar" Center="Cell">
        <DataItem ItemType="HyperSlab" Dimensions="{nz} {ny} {nx}" Type="HyperSlab">
          <DataItem Dimensions="3 4" Format="XML">{i} 0 0 0 1 1 1 1 1 {nz} {ny} {nx}</DataItem>
          <DataItem Dimensions="{n} {nz} {ny} {nx}" NumberType="UChar" Precision="1" Format="HDF">{ref}:/particles/lattice/{name}/value</DataItem>
        </DataItem>
      </Attribute>""")  # noqa: E501
        grids.append(f"""    <Grid Name="frame_{i}" GridType="Uniform">
      <Time Value="{float(times[i])!r}"/>
      <Topology TopologyType="3DCoRectMesh" Dimensions="{nz + 1} {ny + 1} {nx + 1}"/>
      <Geometry GeometryType="ORIGIN_DXDYDZ">
        <DataItem Dimensions="3" Format="XML">0 0 0</DataItem>
        <DataItem Dimensions="3" Format="XML">{a!r} {a!r} {a!r}</DataItem>
      </Geometry>
{chr(10).join(attrs)}
    </Grid>""")
    body = "\n".join(grids)
    return f"""<?xml version="1.0" ?>
<!-- kmc lattice snapshots; lengths in m (grid spacing = lattice spacing), time in s -->
<Xdmf Version="3.0">
  <Domain>
    <Grid Name="lattice" GridType="Collection" CollectionType="Temporal">
{body}
    </Grid>
  </Domain>
</Xdmf>
"""


def write_xdmf(h5_path: str | Path, out: str | Path | None = None) -> Path:
    """Write the sidecar (default: the run file with suffix .xdmf) atomically."""
    h5_path = Path(h5_path)
    out = Path(out) if out is not None else h5_path.with_suffix(".xdmf")
    text = xdmf_text(h5_path, os.path.relpath(h5_path.resolve(), out.resolve().parent))
    io.atomic_write_text(out, text)
    return out
