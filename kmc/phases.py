"""Host phases of a lattice site and what each one does.

The codes are stored in the low four bits of every site word and in snapshots, so
they are part of the file format: add new phases at unused codes, never renumber.
"""

import numpy as np

AMORPHOUS_PEO = 0
CRYSTALLINE_PEO = 1
VOID = 2
CATHODE = 3
ANODE = 4
DEPOSIT_CATHODE = 5  # deposit (PT) electrically connected to the cathode
DEPOSIT_ANODE = 6  # deposit (PT) electrically connected to the anode
PT_FLOATING = 7  # PT connected to no electrode (precipitated in the electrolyte)
MEMBRANE_GATE = 8  # plane standing for the continuum membrane between two lattice windows

PHASE_NAMES = {
    AMORPHOUS_PEO: "amorphous_peo",
    CRYSTALLINE_PEO: "crystalline_peo",
    VOID: "void",
    CATHODE: "cathode",
    ANODE: "anode",
    DEPOSIT_CATHODE: "deposit_cathode",
    DEPOSIT_ANODE: "deposit_anode",
    PT_FLOATING: "pt_floating",
    MEMBRANE_GATE: "membrane_gate",
}

ELECTRODES = ("cathode", "anode")  # electrode index 0 and 1
ELECTRODE_PHASE = np.array([CATHODE, ANODE], dtype=np.int64)
DEPOSIT_PHASE = np.array([DEPOSIT_CATHODE, DEPOSIT_ANODE], dtype=np.int64)


def transport_table(gaps: bool = False) -> np.ndarray:
    """uint8[16]: 1 where mobile particles may sit: amorphous PEO, and gaps if ``gaps``."""
    table = np.zeros(16, dtype=np.uint8)
    table[AMORPHOUS_PEO] = 1
    if gaps:
        table[VOID] = 1
    return table


def electrode_table() -> np.ndarray:
    """int8[16]: index of the electrode a site of this phase conducts to, or -1."""
    table = np.full(16, -1, dtype=np.int8)
    table[CATHODE] = table[DEPOSIT_CATHODE] = 0
    table[ANODE] = table[DEPOSIT_ANODE] = 1
    return table


FILM_CHANNEL = 2
"""Reaction channel of electrode e's doped PT in a surface-resolved run: 2 + e."""


def active_table(
    pt_doped: tuple[bool, bool] = (True, True), resolve_surfaces: bool = False
) -> np.ndarray:
    """int8[16]: reaction channel a phase oxidizes neighbours in, or -1.

    Electrode e always does, in channel e; PT connected to electrode e only while it
    is doped (``pt_doped[e]``): undoped PT neither conducts nor oxidizes. Doped PT is
    in its electrode's channel e, or in its own channel FILM_CHANNEL + e when
    ``resolve_surfaces`` (reactions with rates per surface: bare electrode or film).
    """
    table = electrode_table()
    for e, doped in enumerate(pt_doped):
        if not doped:
            table[DEPOSIT_PHASE[e]] = -1
        elif resolve_surfaces:
            table[DEPOSIT_PHASE[e]] = FILM_CHANNEL + e
    return table


CHANNEL_NAMES = ("cathode", "anode", "cathode_film", "anode_film")
"""Reaction channels of a surface-resolved run, by index (the first two otherwise)."""


def channel_label(channel: int, resolve_surfaces: bool) -> str:
    """What a reaction channel is, for people: the electrode, or with surfaces resolved
    its bare metal ('bare cathode') or its film ('cathode film')."""
    if not resolve_surfaces:
        return ELECTRODES[channel]
    electrode = ELECTRODES[channel % 2]
    return f"{electrode} film" if channel >= FILM_CHANNEL else f"bare {electrode}"


def channel_electrode(n_channels: int) -> np.ndarray:
    """int64[n_channels]: the electrode (0 cathode, 1 anode) of each reaction channel."""
    return np.arange(n_channels, dtype=np.int64) % 2


PT_PHASES = (DEPOSIT_CATHODE, DEPOSIT_ANODE, PT_FLOATING)


def faces_between(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Boolean masks [x, y, z] of the +x, +y, +z faces of a [z, y, x] grid where a site of
    ``a`` meets a site of ``b`` (either way round); periodic in x and y, not in z."""
    out = []
    for axis in (2, 1, 0):
        if axis == 0:
            m = np.zeros(a.shape, dtype=bool)
            m[:-1] = (a[:-1] & b[1:]) | (b[:-1] & a[1:])
        else:
            m = (a & np.roll(b, -1, axis)) | (b & np.roll(a, -1, axis))
        out.append(m)
    return out


def count_faces_between(a: np.ndarray, b: np.ndarray) -> int:
    """Number of faces where ``a`` meets ``b`` (see :func:`faces_between`)."""
    return sum(int(m.sum()) for m in faces_between(a, b))


def contact_fraction(phase: np.ndarray) -> np.ndarray:
    """Per electrode (cathode, anode): of the faces where the electrode phase meets
    another phase, the fraction meeting material rather than void (gaps)."""
    out = np.zeros(2)
    for e, code in enumerate(ELECTRODE_PHASE):
        body = phase == code
        every = count_faces_between(body, ~body)
        touching = count_faces_between(body, ~body & (phase != VOID))
        out[e] = touching / every if every else 0.0
    return out
