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

PHASE_NAMES = {
    AMORPHOUS_PEO: "amorphous_peo",
    CRYSTALLINE_PEO: "crystalline_peo",
    VOID: "void",
    CATHODE: "cathode",
    ANODE: "anode",
    DEPOSIT_CATHODE: "deposit_cathode",
    DEPOSIT_ANODE: "deposit_anode",
}

ELECTRODES = ("cathode", "anode")  # electrode index 0 and 1
ELECTRODE_PHASE = np.array([CATHODE, ANODE], dtype=np.int64)
DEPOSIT_PHASE = np.array([DEPOSIT_CATHODE, DEPOSIT_ANODE], dtype=np.int64)


def transport_table() -> np.ndarray:
    """uint8[16]: 1 where mobile particles may sit (only amorphous PEO for now)."""
    table = np.zeros(16, dtype=np.uint8)
    table[AMORPHOUS_PEO] = 1
    return table


def electrode_table() -> np.ndarray:
    """int8[16]: index of the electrode a site of this phase conducts to, or -1."""
    table = np.full(16, -1, dtype=np.int8)
    table[CATHODE] = table[DEPOSIT_CATHODE] = 0
    table[ANODE] = table[DEPOSIT_ANODE] = 1
    return table
