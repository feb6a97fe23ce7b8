"""Small chemistry configs for tests (seconds to run)."""

from kmc.config import parse_config

CHEM = """
[lattice]
shape = [{nx}, {nx}, {nz}]
spacing_m = 25e-9

[boundaries]
bottom = "cathode"
top = "anode"

[conditions]
temperature_K = {temperature}

{membrane}

[chemistry]
monomer = "BT"
radical = "BT_radical"
oligomer = "oligomer"
coupling_rate_per_s = 1.0e4
sticking_rate_per_s = {sticking}
radical_decay_rate_per_s = {decay}
precipitation_length = {n_star}
electrons_per_oxidation = 1000
doping_charge_per_ring = {doping_charge}
rings_per_monomer = {rings}
cathode_doping_onset_V = {doping}
anode_doping_onset_V = 10.0
species_enter_gaps = true

[protocol]
{protocol}
time_compression = {compression}
step_s = {step}

[cathode]
kind = "{cathode}"
particle_layer_thickness_m = {layer}

[[species]]
name = "BT"
diffusivity_m2_per_s = 1.0e-12
initial_occupancy = {occupancy}
[[species.reactions]]
electrode = "cathode"
rate_per_s = {k0}
onset_potential_V = 1.0
product = "BT_radical"

[[species]]
name = "BT_radical"
charge = 1
diffusivity_m2_per_s = 1.0e-12

[[species]]
name = "oligomer"
diffusivity_m2_per_s = 0.5e-12
[[species.reactions]]
electrode = "cathode"
rate_per_s = {k0}
onset_potential_V = 0.9
product = "BT_radical"

[run]
duration_s = {duration}
sample_interval_s = {sample}
snapshot_every_samples = 5
checkpoint_interval_wall_s = {ckpt}
seed = 11
"""

MEMBRANE = """
[membrane]
thickness_m = 5e-6
gate_z = {gate}
monomer_occupancy = {occupancy}
continuum_cells = 20
"""

POTENTIOSTATIC = 'kind = "potentiostatic"\npotential_V = {potential}'
CV = """kind = "cv"
start_V = 0.0
vertex_V = 1.0
scan_rate_V_per_s = {scan}
cycles = {cycles}"""
GALVANOSTATIC = """kind = "galvanostatic"
current_A = {current}
lower_V = 0.5
upper_V = 1.2
cycles = {cycles}
electrode_area_m2 = 1e-4
double_layer_capacitance_F_per_m2 = 0.2"""


def chem_text(
    nx=16, nz=24, membrane=True, protocol="potentiostatic", potential=1.0, current=2e-6,
    cycles=3, compression=1.0, step=0.05, sticking=1.6e3, decay=0.0, doping=0.0, k0=5.0,
    occupancy=0.05, cathode="flat", duration=2.0, sample=0.2, ckpt=60.0,
    scan=0.01, layer=300e-9, temperature=333.15, extra="", n_star=3, doping_charge=0.0,
    rings=1,
):  # fmt: skip
    mem = MEMBRANE.format(gate=nz // 2, occupancy=occupancy) if membrane else ""
    proto = {"potentiostatic": POTENTIOSTATIC, "cv": CV, "galvanostatic": GALVANOSTATIC}[
        protocol
    ].format(potential=potential, current=current, cycles=cycles, scan=scan)
    return CHEM.format(
        nx=nx, nz=nz, membrane=mem, protocol=proto, compression=compression, step=step,
        sticking=sticking, decay=decay, doping=doping, k0=k0,
        occupancy=occupancy, cathode=cathode, duration=duration, sample=sample, ckpt=ckpt,
        layer=layer, temperature=temperature, n_star=n_star, doping_charge=doping_charge,
        rings=rings,
    ) + extra  # fmt: skip


def chem_config(**kw):
    return parse_config(chem_text(**kw))


FLAT_CELL = """
[lattice]
shape = {shape}
spacing_m = {a!r}
[boundaries]
bottom = "cathode"
top = "reservoir"
[conditions]
temperature_K = {temperature!r}
[[species]]
name = "{name}"
diffusivity_m2_per_s = {d!r}
initial_occupancy = {c!r}
reservoir_occupancy = {c!r}
{reactions}
{protocol}
[run]
duration_s = 1.0
sample_interval_s = 1.0
"""


def flat_cell_text(
    shape, reactions, *, a, d, c, name="M", temperature=333.15, protocol=""
):  # fmt: skip
    """One monomer species at occupancy ``c`` over a flat cathode, a reservoir at ``c``
    above; ``reactions`` and ``protocol`` are TOML text (run for 1 s unless driven by
    hand, as the nucleation tests do)."""
    return FLAT_CELL.format(
        shape=list(shape), a=a, d=d, c=c, name=name, temperature=temperature,
        reactions=reactions, protocol=protocol,
    )  # fmt: skip


def nucleated_phase(model, sites):
    """The model's phase with doped cathode PT (a nucleus) at the flat indices ``sites``
    of the first layer above the cathode."""
    import numpy as np

    from kmc import phases

    nx, ny, nz = model.dims
    phase = np.full((nz, ny, nx), phases.AMORPHOUS_PEO, dtype=np.uint32)
    for code, z0, z1 in model.electrode_slabs():
        phase[z0:z1] = code
    layer = model.config.boundaries.electrode_thickness_sites
    phase[layer].reshape(-1)[np.asarray(sites, dtype=np.int64)] = phases.DEPOSIT_CATHODE
    return phase
