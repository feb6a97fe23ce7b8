"""LatticeEngine set-up and editing: custom phase arrays, particle placement, errors."""

import numpy as np
import pytest

from kmc import phases
from kmc.kernels import layout as L
from kmc.simulation import LatticeEngine, Model


def test_custom_phase_array_places_particles_on_transport_sites_only(make_config):
    model = Model.from_config(make_config(shape="[8, 8, 12]"))
    phase = np.zeros((12, 8, 8), dtype=np.uint8)
    phase[0] = phases.CATHODE
    phase[1:4, 2:4, 2:4] = phases.CATHODE  # a pillar: a rough cathode
    phase[6:8] = phases.CRYSTALLINE_PEO
    eng = LatticeEngine(model, seed=2, phase=phase)
    np.testing.assert_array_equal(eng.phase, phase)
    occ = eng.occupant_species > 0
    assert occ.sum() == eng.counts.sum() == round(0.1 * (phase == phases.AMORPHOUS_PEO).sum())
    assert (phase[occ] == phases.AMORPHOUS_PEO).all()
    # the side of the pillar touches the cathode: flag set there, not two sites away
    assert (int(eng.words[1 + 8 * (2 + 8 * 2)]) >> L.FLAG_SHIFT) & 1 == 1
    assert (int(eng.words[0 + 8 * (2 + 8 * 5)]) >> L.FLAG_SHIFT) & 1 == 0
    eng.run(0.5, 10**6)
    assert (eng.phase[6:8] == phases.CRYSTALLINE_PEO).all()
    assert (eng.occupant_species[6:8] == 0).all()  # crystalline PEO blocks transport


def test_bad_phase_arrays_are_refused(make_config):
    model = Model.from_config(make_config(shape="[8, 8, 12]"))
    with pytest.raises(ValueError, match=r"phase has shape \(8, 8, 8\)"):
        LatticeEngine(model, 1, phase=np.zeros((8, 8, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"phase codes must lie in \[0, 15\]"):
        LatticeEngine(model, 1, phase=np.full((12, 8, 8), 16))


def test_add_and_move_particles(make_config):
    model = Model.from_config(make_config(shape="[6, 6, 8]"))
    eng = LatticeEngine(model, seed=1)
    free = np.argwhere((eng.occupant_species == 0) & (eng.phase == phases.AMORPHOUS_PEO))
    z, y, x = (int(v) for v in free[0])
    n0 = int(eng.counts[0])
    pid = eng.add_particle(0, x, y, z)
    assert eng.counts[0] == n0 + 1 and eng.occupant_species[z, y, x] == 1
    with pytest.raises(ValueError, match="not an empty transport site"):
        eng.add_particle(0, x, y, z)
    with pytest.raises(ValueError, match="outside the lattice"):
        eng.add_particle(0, 6, 0, 0)
    with pytest.raises(ValueError, match="not an empty transport site"):
        eng.move_particle(pid, 0, 0, 0)  # the cathode layer
    z2, y2, x2 = (int(v) for v in free[1])
    eng.move_particle(pid, x2, y2, z2)
    assert eng.occupant_species[z, y, x] == 0 and eng.occupant_species[z2, y2, x2] == 1
    assert (eng.react_chan[pid] == 0) == (z2 == 1)  # next to the cathode layer or not
