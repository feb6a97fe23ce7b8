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


def active_table(pt_doped: tuple[bool, bool] = (True, True)) -> np.ndarray:
    """int8[16]: electrode a phase oxidizes neighbours for, or -1.

    Electrodes always do; PT connected to electrode e only while it is doped
    (``pt_doped[e]``): undoped PT neither conducts nor oxidizes.
    """
    table = electrode_table()
    for e, doped in enumerate(pt_doped):
        if not doped:
            table[DEPOSIT_PHASE[e]] = -1
    return table


PT_PHASES = (DEPOSIT_CATHODE, DEPOSIT_ANODE, PT_FLOATING)
